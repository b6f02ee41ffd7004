//! Server-rendered pages: the minijinja templates under `templates/`, embedded in the binary.

use std::sync::LazyLock;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use minijinja::{Environment, Value, context};

use super::AppState;

/// Every page template: (name, source), embedded at build time.
const TEMPLATES: &[(&str, &str)] = &[
    ("home.html", include_str!("../../templates/home.html")),
    ("layout.html", include_str!("../../templates/layout.html")),
];

/// The template environment, made on first use.
static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_loader(|name| {
        Ok(TEMPLATES
            .iter()
            .find(|(candidate, _)| *candidate == name)
            .map(|(_, source)| (*source).to_owned()))
    });
    env
});

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// Renders the template `name` with `ctx`. A template that fails to render is logged and
/// answered with a bare 500.
pub fn render(name: &str, ctx: Value) -> Response {
    match PAGES
        .get_template(name)
        .and_then(|template| template.render(ctx))
    {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!("rendering {name}: {err:#}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /`: the home page.
async fn home() -> Response {
    render("home.html", context! { app_name => "sigra-example-host" })
}
