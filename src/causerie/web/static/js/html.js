// @ts-check
// The view library: Preact (a 4 kB virtual DOM) with htm (tagged templates instead of JSX, so
// there is no build step). Both are vendored ESM builds, neither uses eval, and text in
// templates is always set as text: ${value} can never become markup. See docs/web.md.

import { h, render } from "../vendor/preact.module.js";
import htm from "../vendor/htm.module.js";

export const html = htm.bind(h);
export { render };
