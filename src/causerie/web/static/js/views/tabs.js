// @ts-check
// The open conversations, as tabs with unread badges.

import { html } from "../html.js";
import { roomWords, t } from "../i18n.js";

export function convTitle(conv) {
  return conv.kind === "room" ? roomWords(conv.room).name || conv.id : conv.nickname;
}

export function Tabs({ state, act }) {
  const convs = state.order.map((k) => state.convs[k]);
  return html`<nav id="conv-tabs" class="conv-tabs" data-testid="conv-tabs" aria-label=${t("chat.tabs")} hidden=${convs.length === 0}>
    <ul role="list">
      ${convs.map((conv) => {
        const active = conv.key === state.active;
        const title = convTitle(conv);
        return html`<li key=${conv.key} class="tab kind-${conv.kind}${active ? " is-active" : ""}${conv.unread ? " has-unread" : ""}">
          <button type="button" class="tab-open" data-testid="conv-tab" data-conv=${conv.key} aria-current=${active ? "page" : undefined}
                  onClick=${() => act.open(conv.key)}>
            <span class="tab-title">${conv.kind === "room" ? "# " : "@ "}${title}</span>
            ${conv.unread > 0 && html`<span class="badge" aria-hidden="true">${conv.unread}</span><span class="sr-only">${t("chat.unread", { n: conv.unread })}</span>`}
          </button>
          <button type="button" class="tab-close" data-testid="conv-tab-close" aria-label=${t("chat.close_tab", { name: title })}
                  onClick=${() => act.leave(conv)}>×</button>
        </li>`;
      })}
    </ul>
  </nav>`;
}
