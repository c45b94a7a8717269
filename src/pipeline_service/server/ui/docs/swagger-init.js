// /docs: swagger-ui on this server's openapi.json, with nothing fetched from anywhere else (no
// validator badge). "Authorize" keeps the token in this page's memory only. "Try it out" sends
// to this server whatever `servers` entry is chosen (the page may reach no other origin).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  requestInterceptor: (request) => {
    const url = new URL(request.url, window.location.href);
    request.url = window.location.origin + url.pathname + url.search;
    return request;
  },
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
