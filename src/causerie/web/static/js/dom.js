// Element building without HTML parsing: every string becomes a text node or textContent, so
// text typed by other chatters can never turn into markup.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name === "testid") el.dataset.testid = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function byId(id) {
  return document.getElementById(id);
}

/**
 * Replace a list's children, giving focus back to the element with the same data-focus-key:
 * periodic refreshes must not throw a keyboard user back to the top of the page.
 */
export function replaceKeepingFocus(container, children) {
  const active = document.activeElement;
  const key = container.contains(active) ? active.dataset.focusKey : undefined;
  container.replaceChildren(...children);
  if (key !== undefined) {
    const again = [...container.querySelectorAll("[data-focus-key]")].find(
      (el) => el.dataset.focusKey === key,
    );
    again?.focus();
  }
}

/** Text typed by a person, set as text (never as HTML). */
export function setText(el, text) {
  el.textContent = text;
}
