// Swagger UI over this app's OpenAPI document, with every asset served locally.
window.addEventListener('load', function () {
  var el = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({ url: el.dataset.openapi, dom_id: '#swagger-ui', deepLinking: true,
    validatorUrl: null, tryItOutEnabled: true });
});
