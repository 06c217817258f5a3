// Flint's replacement for swagger-ui-dist's swagger-initializer.js: it loads this instance's own
// OpenAPI document instead of the Petstore example. Copied over the npm package at build time.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/driver/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
};
