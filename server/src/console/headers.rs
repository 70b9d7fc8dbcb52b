//! The headers of everything the console serves: its Content-Security-Policy and the usual
//! companions (no sniffing, no framing, no referrer).

use axum::http::{HeaderMap, HeaderValue, header};

/// The console's policy: only this server's scripts, styles, images and connections (the map is
/// SVG built in the page); no inline script or style, no `eval`, no plugins, no framing.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// GraphiQL's policy: as the console's, except that its editor sets `<style>` elements at run
/// time (CodeMirror), and its bundled fonts are `data:` URIs.
pub const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The headers every console page, file and session answer carries.
pub fn security_headers(headers: &mut HeaderMap, csp: &'static str) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}
