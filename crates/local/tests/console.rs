//! The console in a real browser: Debian's headless Chromium driven
//! through WebDriver (chromedriver on loopback), against a stack of the
//! test's own with its console.
//!
//! - an order placed through the API appears on its page with its timeline;
//! - the notifier's invocations count goes up on the overview, live;
//! - a poisoned record lands in the failure bucket, shows on the failure
//!   page, and its Replay button re-drives it: the notification arrives;
//! - the API page renders the OpenAPI document from the vendored Swagger
//!   UI, and its requests reach the local API through the console;
//! - the console is refused from anything but loopback.
//!
//! The overview's screenshot is written to the target directory, and to
//! `docs/console.png` with `UPDATE_SCREENSHOT=1` (the README's picture).

mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use foodstream_harness::api::Route;
use foodstream_local::console::{Console, ConsoleConfig, RunningConsole};
use foodstream_local::runtime::Sabotage;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Settings, Shop, TestStack};

/// Debian's Chromium and its WebDriver (`CHROMIUM`, `CHROMEDRIVER` to use others).
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn chromedriver() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

/// chromedriver on a free loopback port, stopped (by its PID) when dropped.
struct Driver {
    process: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        for tool in [chromium(), chromedriver()] {
            assert!(
                std::path::Path::new(&tool).exists(),
                "no {tool}: run `scripts/emulators.sh install-test-tools` (Debian's chromium and chromium-driver)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its own process group, with the Chromium it starts: stopped
        // together, by the group's id, even when the test fails.
        let process = tokio::process::Command::new(chromedriver())
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { process, url }
    }

    /// Stops chromedriver and the browsers it started (by its process
    /// group's id) and waits for it.
    async fn stop(mut self) {
        self.signal_group();
        let _ = self.process.wait().await;
    }

    fn signal_group(&self) {
        // bash's own `kill` with `--`: a negative number after it is a
        // process group, unambiguously (procps' `kill -TERM -<pid>` is not).
        if let Some(pid) = self.process.id().filter(|pid| *pid > 1) {
            let _ =
                std::process::Command::new("bash").arg("-c").arg(format!("kill -TERM -- -{pid}")).status();
        }
    }

    async fn browser(&self, profile: &std::path::Path) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium(),
                // This machine's closed network: no background connections.
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1440,1000",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // A test that failed half-way: nothing of the browser stays.
        if matches!(self.process.try_wait(), Ok(None)) {
            self.signal_group();
        }
    }
}

/// Waits until `found` answers something for the page, re-reading it
/// (the page itself updates live; nothing is reloaded).
async fn eventually<T>(what: &str, timeout: Duration, mut found: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = found().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not within {timeout:?}: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn text_of(browser: &Client, css: &str) -> Option<String> {
    browser.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

async fn console_for(t: &TestStack, console: std::sync::Arc<Console>) -> RunningConsole {
    let listener = Console::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    console.serve(listener, config_of(t), t.stack.pools().clone()).await.expect("the console serves")
}

/// This machine's address toward the outside, when it has one.
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_console_shows_an_order_the_functions_and_replays_a_failure_in_a_real_browser() {
    let console = Console::new();
    let mut settings = Settings::new("console");
    settings.console = Some(console.clone());
    let t = TestStack::start(settings).await;
    let running = console_for(&t, console).await;
    let base = running.url.clone();
    let driver = Driver::start().await;
    let profile = std::env::temp_dir().join(format!("console-chromium-{}", t.run));
    let browser = driver.browser(&profile).await;

    // An order placed through the API, on its page with its timeline.
    let shop = Shop::open(&t, 20, 1).await;
    let customer = t.token(&format!("customer-{}", t.run), "customer", None);
    let placed = t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await;
    let id = placed["order_id"].as_str().unwrap().to_owned();
    t.expect(&shop.owner, Route::AcceptOrder { order: &id }, None, 200).await;
    browser.goto(&format!("{base}/orders/{id}")).await.unwrap();
    let timeline =
        eventually("the order's timeline shows PAID then ACCEPTED", Duration::from_secs(30), async || {
            let rows = text_of(&browser, "table.timeline").await?;
            (rows.contains("PAID") && rows.contains("ACCEPTED")).then_some(rows)
        })
        .await;
    assert!(timeline.find("PAID") < timeline.find("ACCEPTED"), "{timeline}");
    eventually("the order's log lines, across functions", Duration::from_secs(30), async || {
        let log = text_of(&browser, "#order pre.log").await?;
        (log.contains("place-order") && log.contains("notifier")).then_some(())
    })
    .await;

    // The notifier's invocations go up on the overview, without a reload.
    browser.goto(&base).await.unwrap();
    let invocations = async || -> Option<u64> {
        text_of(&browser, "tr[data-function='notifier'] td.invocations").await?.trim().parse().ok()
    };
    let before = eventually("the notifier's row", Duration::from_secs(30), invocations).await;
    let second = t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await;
    let after = eventually("the notifier's invocations go up", Duration::from_secs(30), async || {
        invocations().await.filter(|n| *n > before)
    })
    .await;
    assert!(after > before);
    let status = text_of(&browser, "#live-status").await.unwrap_or_default();
    assert_eq!(status, "live", "the page follows the server's events");
    assert!(
        text_of(&browser, "#mappings")
            .await
            .unwrap_or_default()
            .contains("notifier ← order-events (group message)"),
        "the notifier's mapping is shown"
    );
    let _ = second;
    let screenshot = browser.screenshot().await.unwrap();
    let picture = support::workspace().join("target/console.png");
    std::fs::create_dir_all(picture.parent().unwrap()).unwrap();
    std::fs::write(&picture, &screenshot).unwrap();
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        std::fs::write(support::workspace().join("docs/console.png"), &screenshot).unwrap();
    }

    // A poisoned record: the notifier's environment dies on the first call
    // and on each of the template's 5 retries, so the batch goes to the
    // failure bucket. First the notifier is done with the earlier orders
    // (PAID and ACCEPTED, then PAID, on two channels each), so the
    // sabotage meets the poisoned order's batch alone.
    let settled = Instant::now() + Duration::from_secs(60);
    while t.list_all(&customer, &Route::ListMyNotifications.path()).await.len() < 6 {
        assert!(Instant::now() < settled, "the earlier orders' notifications did not arrive");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let notifier = t.stack.pool("notifier").unwrap();
    for _ in 0..6 {
        notifier.sabotage_next(Sabotage::Refuse).await;
    }
    let poisoned = t.expect(&customer, Route::PlaceOrder, Some(shop.order(1)), 201).await;
    let poisoned = poisoned["order_id"].as_str().unwrap().to_owned();
    let parked = t.failure_bucket(Duration::from_secs(90), |records| !records.is_empty()).await;
    assert_eq!(parked.len(), 1, "{}", t.recent_activity(30));
    browser.goto(&format!("{base}/failures")).await.unwrap();
    let listed = eventually("the failure record is listed", Duration::from_secs(30), async || {
        let text = text_of(&browser, "section.failure").await?;
        text.contains(&poisoned).then_some(text)
    })
    .await;
    assert!(listed.contains("RetryAttemptsExhausted"), "{listed}");
    let notifications_of = async |order: &str| -> usize {
        t.list_all(&customer, &Route::ListMyNotifications.path())
            .await
            .iter()
            .filter(|n| n.to_string().contains(order))
            .count()
    };
    assert_eq!(notifications_of(&poisoned).await, 0, "nothing notified before the replay");
    // The list is live: a part sent while the button is looked up replaces
    // the elements found, so the lookup and the click are tried again.
    eventually(
        "the poisoned order's record has a Replay button that clicks",
        Duration::from_secs(30),
        async || {
            for section in browser.find_all(Locator::Css("section.failure")).await.ok()? {
                if section.text().await.ok()?.contains(&poisoned) {
                    return section.find(Locator::Css("button.replay")).await.ok()?.click().await.ok();
                }
            }
            None
        },
    )
    .await;
    let replayed = eventually("the replay's outcome", Duration::from_secs(30), async || {
        text_of(&browser, "p.replayed").await
    })
    .await;
    assert!(replayed.starts_with("Replayed "), "{replayed}");
    assert!(replayed.contains("1 Kafka record(s) produced again"), "{replayed}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while notifications_of(&poisoned).await < 2 {
        assert!(Instant::now() < deadline, "the replayed order's notifications did not arrive");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eventually("the replayed record leaves the failure page", Duration::from_secs(30), async || {
        let text = text_of(&browser, "#failures").await?;
        (!text.contains(&poisoned)).then_some(())
    })
    .await;

    // The topics, decoded and filtered by the order, with its trace.
    browser.goto(&format!("{base}/topics?order={id}")).await.unwrap();
    let topics = eventually("the order's records on the topics", Duration::from_secs(30), async || {
        let text = text_of(&browser, "#topics").await?;
        (text.contains("OrderPlaced") && text.contains("OrderAccepted")).then_some(text)
    })
    .await;
    assert!(topics.contains("traceparent"), "{topics}");
    assert!(!topics.contains(&poisoned), "the filter keeps the one order: {topics}");

    // The API page: Swagger UI from the vendored bundle, and a try-it
    // request through the console to the local API.
    browser.goto(&format!("{base}/api")).await.unwrap();
    eventually("Swagger UI renders the operations", Duration::from_secs(30), async || {
        let operations = browser.find_all(Locator::Css(".swagger-ui .opblock")).await.ok()?;
        (operations.len() >= 16).then_some(())
    })
    .await;
    let http = reqwest::Client::new();
    let menu = Route::ListMenu { store: &shop.store }.path();
    let direct: Value = http
        .get(format!("{}{menu}", t.stack.api_url))
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let proxied = http.get(format!("{base}/proxy{menu}")).bearer_auth(&customer).send().await.unwrap();
    assert_eq!(proxied.status(), 200);
    assert_eq!(proxied.json::<Value>().await.unwrap(), direct);
    // Every end-to-end header crosses, both ways: a stale If-Match is the
    // API's 412, a fresh edit answers its ETag.
    let item = format!("{base}/proxy/stores/{}/menu/chicken", shop.store);
    let edit = json!({"name": "Fried chicken", "price": 18000, "stock": 20});
    let stale = http
        .put(&item)
        .bearer_auth(&shop.owner)
        .header("if-match", "\"999999\"")
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412, "{:?}", stale.text().await);
    let fresh = http.put(&item).bearer_auth(&shop.owner).json(&edit).send().await.unwrap();
    assert_eq!(fresh.status(), 200);
    assert!(fresh.headers().contains_key("etag"), "{:?}", fresh.headers());
    // What the API answers never runs as a page of the console's origin.
    assert_eq!(fresh.headers().get("content-security-policy").map(|v| v.as_bytes()), Some(&b"sandbox"[..]));
    // A body beyond what one invocation takes is refused by the console
    // (axum's limit, not the gateway's); one above axum's 2 MB default but
    // within the limit reaches the API, whose own refusal (its 64 KiB
    // request limit) comes back as JSON.
    let too_large = vec![b'x'; foodstream_local::runtime::MAX_INVOKE_PAYLOAD_BYTES + 1];
    let refused = http.put(&item).bearer_auth(&shop.owner).body(too_large).send().await.unwrap();
    assert_eq!(refused.status(), 413);
    let text = refused.text().await.unwrap();
    assert!(text.contains("length limit"), "the console's own refusal: {text}");
    let large = vec![b'x'; 3 * 1024 * 1024];
    let reached = http.put(&item).bearer_auth(&shop.owner).body(large).send().await.unwrap();
    let answer: Value = reached.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "PAYLOAD_TOO_LARGE", "the API's own answer: {answer}");

    // A view of a function's log serves only the stack's own functions:
    // no path of the caller's choosing reaches the disk.
    let mut probe =
        http.get(format!("{base}/events?view=function:../../../../../etc/hostname")).send().await.unwrap();
    assert_eq!(probe.status(), 200);
    let mut seen = String::new();
    let until = Instant::now() + Duration::from_secs(2);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until.into(), probe.chunk()).await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!seen.contains("event: log"), "{seen}");

    // Loopback only: a foreign Host (a page that rebound its name to
    // 127.0.0.1) is refused, no address but loopback is served, and the
    // machine's outside address does not reach the console.
    let foreign = http.get(&base).header("host", "console.example:80").send().await.unwrap();
    assert_eq!(foreign.status(), 403);
    // A form another site posts to the console (a replay) is refused.
    let cross_site = http
        .post(format!("{base}/failures/replay"))
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("key=anything")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert!(Console::bind("0.0.0.0:0".parse().unwrap()).await.is_err());
    if let Some(ip) = non_loopback_address() {
        let port = base.rsplit(':').next().unwrap();
        browser.goto(&format!("http://{ip}:{port}/")).await.ok();
        let body = text_of(&browser, "body").await.unwrap_or_default();
        assert!(!body.contains("foodstream local console"), "reached from {ip}: {body}");
    }

    browser.close().await.unwrap();
    driver.stop().await;
    let _ = std::fs::remove_dir_all(&profile);
    running.stop().await;
    t.stop().await;
}

fn config_of(t: &TestStack) -> ConsoleConfig {
    let workspace = support::workspace();
    ConsoleConfig {
        template: foodstream_template::Template::load(&workspace.join("infra/template.yaml")).unwrap(),
        names: t.stack.names.clone(),
        api_url: t.stack.api_url.clone(),
        aws_endpoint: foodstream_testkit::endpoint(),
        kafka_bootstrap: foodstream_testkit::kafka_bootstrap(),
        log_dir: Some(t.log_dir.clone()),
        failure_bucket: t.stack.failure_bucket.clone(),
        openapi: workspace.join("docs/openapi.yaml"),
        swagger_ui: workspace.join(".local/vendor/swagger-ui"),
    }
}
