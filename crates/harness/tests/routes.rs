//! The harness's routes are the template's: every `Route` a route of
//! `infra/template.yaml`, every route of the template a `Route`, so a path
//! the scenario, the bench or a test calls cannot drift from what the stack
//! serves.

use foodstream_harness::api::Route;
use foodstream_template::Template;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn the_client_routes_are_exactly_the_template_routes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    let template = Template::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let served: BTreeSet<String> =
        template.routes.iter().map(|route| format!("{} {}", route.method, route.path)).collect();
    let named: BTreeSet<String> = Route::all("x").iter().map(|route| route.label().to_owned()).collect();
    assert_eq!(named.len(), Route::all("x").len(), "two routes with one label");
    let missing: Vec<_> = served.difference(&named).collect();
    let unknown: Vec<_> = named.difference(&served).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "the template serves {missing:?} that api::Route lacks; api::Route names {unknown:?} the template does not serve"
    );
    for route in Route::all("x") {
        let (method, _) = route.label().split_once(' ').unwrap_or_default();
        assert_eq!(route.method().as_str(), method, "{route:?}");
    }
}
