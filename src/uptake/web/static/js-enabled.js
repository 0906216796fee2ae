// What the NHS.UK page template does inline, as a file (the Content-Security-Policy forbids inline scripts).
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
