// @ts-check
// The message box: several lines; Enter sends, Shift+Enter starts a new line. The camera button
// opens the file picker (accept="image/*": on a phone, the camera or the gallery); an image
// pasted into the box is attached too. An attached photo waits above the box until "Send", and
// the text then goes with it as its caption.

import { html } from "../html.js";
import { t } from "../i18n.js";
import { Staged } from "./photo.js";

function CameraIcon() {
  return html`<svg class="icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
    <path d="M9 4h6l1.5 2H20a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h3.5z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round" />
    <circle cx="12" cy="12.5" r="3.6" fill="none" stroke="currentColor" stroke-width="1.8" />
  </svg>`;
}

export function Composer({ state, conv, title, act }) {
  const onKeyDown = (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      act.sendFrom(e.currentTarget);
    }
  };
  const onSubmit = (e) => {
    e.preventDefault();
    act.sendFrom(e.currentTarget.elements.namedItem("text"));
  };
  const onPaste = (e) => {
    const files = e.clipboardData?.files;
    if (files && files.length > 0) {
      e.preventDefault();
      act.attachFiles(conv.key, files);
    }
  };
  const onPicked = (e) => {
    const input = e.currentTarget;
    if (input.files?.length) act.attachFiles(conv.key, input.files);
    // The same file can be picked again after "Remove".
    input.value = "";
  };
  return html`<div class="composer-wrap">
    <${Staged} conv=${conv} act=${act} />
    <form id="composer" class="composer" data-testid="composer" onSubmit=${onSubmit}>
      <input id="photo-input" type="file" accept="image/*" hidden data-testid="photo-input" tabindex="-1" onChange=${onPicked} />
      <button type="button" class="attach ghost" data-testid="photo-attach" aria-label=${t("photo.attach")} title=${t("photo.attach")}
              onClick=${() => document.getElementById("photo-input")?.click()}>
        <${CameraIcon} />
      </button>
      <label for="composer-input" class="sr-only">${t("chat.message_label")}</label>
      <textarea id="composer-input" name="text" key=${conv.key} data-testid="composer-input" rows="1" autocomplete="off"
                enterkeyhint="send" maxlength=${state.maxChars} aria-describedby="composer-hint"
                placeholder=${conv.kind === "room" ? t("chat.placeholder_room", { room: title }) : t("chat.placeholder_private", { nickname: conv.nickname })}
                defaultValue=${conv.draft} onKeyDown=${onKeyDown} onInput=${act.onComposerInput} onPaste=${onPaste}></textarea>
      <span id="composer-hint" class="sr-only">${t("chat.composer_hint")}</span>
      <button type="submit" class="primary" data-testid="composer-send">${t("chat.send")}</button>
    </form>
  </div>`;
}
