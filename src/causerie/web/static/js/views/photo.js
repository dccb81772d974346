// @ts-check
// Photos in the log: the thumbnail (a button that opens the full image), a masked photo that is
// not even fetched until the reader asks, our own photo while it uploads, the photo chosen but
// not sent yet, and the full-size viewer (a modal dialog).

import { html } from "../html.js";
import { CATEGORIES, categoryName, language, t } from "../i18n.js";
import { viewed } from "../store.js";
import { fitBox, formatBytes, percent } from "../photos.js";

/** What a screen reader says for a photo. */
function altText(item) {
  return item.text ? t("photo.alt_caption", { nickname: item.sender, caption: item.text }) : t("photo.alt", { nickname: item.sender });
}

/** The words under our photo while it uploads. @param {import("../store.js").UploadPart} upload */
export function uploadWords(upload) {
  if (upload.phase === "sending") {
    const lang = language();
    return t("photo.sending", { sent: formatBytes(upload.sent, lang), total: formatBytes(upload.total, lang), pct: percent(upload.sent, upload.total) });
  }
  return t(`photo.${upload.phase}`);
}

/**
 * The photo part of a message: `shown` is false for a masked photo not revealed yet, which
 * puts neither its image nor its caption in the page (a box of the same shape stands in).
 */
export function PhotoBody({ conv, item, shown, act }) {
  const photo = item.photo;
  if (photo) {
    const box = fitBox(photo.width, photo.height);
    if (!shown) {
      return html`<div class="photo masked-photo" data-testid="photo-masked">
        <svg class="photo-stand-in" viewBox=${`0 0 ${box.width} ${box.height}`} width=${box.width} height=${box.height} aria-hidden="true" focusable="false">
          <rect width="100%" height="100%" rx="8" />
        </svg>
        <p class="photo-masked-text">${t("photo.masked")}</p>
      </div>`;
    }
    return html`<figure class="photo" data-testid="photo">
      <button type="button" class="photo-open" data-testid="photo-open" title=${t("photo.open")}
              onClick=${(e) => act.viewPhoto(conv.key, item.id, e.currentTarget)}>
        <img class="thumb" data-testid="photo-thumb" src=${photo.thumb} width=${box.width} height=${box.height} alt=${altText(item)} decoding="async" />
      </button>
    </figure>`;
  }
  const upload = item.upload;
  if (!upload) return null;
  const box = fitBox(160, 120, 160);
  return html`<figure class="photo uploading" data-testid="photo-upload" data-phase=${upload.phase}>
    ${upload.preview
      ? html`<img class="thumb preview" src=${upload.preview} alt=${t("photo.preview_alt")} />`
      : html`<svg class="photo-stand-in" viewBox=${`0 0 ${box.width} ${box.height}`} width=${box.width} height=${box.height} aria-hidden="true" focusable="false"><rect width="100%" height="100%" rx="8" /></svg>`}
    ${item.status === "pending" && html`<figcaption class="upload-line">
      <progress data-testid="photo-progress" max=${Math.max(1, upload.total)} value=${upload.phase === "checking" ? upload.total : upload.sent}
                aria-label=${t("photo.progress_label")}></progress>
      <span data-testid="photo-progress-text" aria-live="polite">${uploadWords(upload)}</span>
    </figcaption>`}
  </figure>`;
}

/** The photo chosen (picker, paste, drop) and waiting for "Send", above the message box. */
export function Staged({ conv, act }) {
  const attachment = conv.attachment;
  if (!attachment) return null;
  return html`<div class="staged" data-testid="photo-staged">
    ${attachment.preview && html`<img class="staged-preview" src=${attachment.preview} alt=${t("photo.preview_alt")} />`}
    <div class="staged-text">
      <p class="staged-name">${t("photo.staged", { name: attachment.name, size: formatBytes(attachment.size, language()) })}</p>
      <p class="staged-hint">${t("photo.staged_hint")}</p>
    </div>
    <button type="button" class="ghost small" data-testid="photo-staged-remove" onClick=${() => act.detach(conv.key)}>${t("photo.remove")}</button>
  </div>`;
}

/** The full image, over the page. Escape, the close button or a click beside it closes it. */
export function Viewer({ state, ui, act }) {
  const item = viewed(state);
  if (!item || !item.photo) return null;
  const onKeyDown = (e) => {
    if (e.key === "Escape") act.closePhoto();
  };
  return html`<div class="viewer-backdrop" data-testid="photo-viewer-backdrop" onClick=${(e) => e.target === e.currentTarget && act.closePhoto()}>
    <div class="viewer" role="dialog" aria-modal="true" aria-labelledby="viewer-title" data-testid="photo-viewer" onKeyDown=${onKeyDown}>
      <div class="viewer-head">
        <h2 id="viewer-title">${t("photo.viewer_title", { nickname: item.sender })}</h2>
        <a class="button ghost small" href=${item.photo.url} target="_blank" rel="noopener noreferrer" data-testid="photo-original">${t("photo.original")}</a>
        <button type="button" class="ghost small" data-testid="photo-report" aria-expanded=${ui.photoReportOpen ? "true" : "false"}
                onClick=${act.togglePhotoReport}>${t("photo.report")}</button>
        <button type="button" class="ghost small" data-testid="photo-viewer-close" ref=${act.focusViewer} onClick=${act.closePhoto}>${t("photo.close")}</button>
      </div>
      ${ui.photoReportOpen && html`<form class="report-form" data-testid="photo-report-form" onSubmit=${(e) => act.sendPhotoReport(e, item)}>
        <h3>${t("photo.report_title", { nickname: item.sender })}</h3>
        <div class="field">
          <label for="photo-report-reason">${t("report.reason")}</label>
          <select id="photo-report-reason" name="reason" data-testid="photo-report-reason" required>
            ${CATEGORIES().map((c) => html`<option value=${c}>${categoryName(c)}</option>`)}
            <option value="other">${t("report.other")}</option>
          </select>
        </div>
        <div class="field">
          <label for="photo-report-details">${t("report.details")}</label>
          <textarea id="photo-report-details" name="details" maxlength="1000" rows="2"></textarea>
        </div>
        <button type="submit" class="primary" data-testid="photo-report-send">${t("report.send")}</button>
      </form>`}
      <img class="full" data-testid="photo-full" src=${item.photo.url} width=${item.photo.width} height=${item.photo.height} alt=${altText(item)} />
      ${item.text && html`<p class="viewer-caption">${item.text}</p>`}
    </div>
  </div>`;
}
