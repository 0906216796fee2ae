// Start the NHS.UK frontend components (header menu, skip link, buttons, ...).
import { initAll } from './vendor/nhsuk-frontend.min.js';
initAll();
