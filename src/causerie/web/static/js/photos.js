// @ts-check
// Pure helpers for photos (docs/web.md, "Photos"): which file of a paste or a drop is a photo,
// what the page can refuse before sending anything, sizes in words, the thumbnail's box. No
// DOM, no socket: tested by tests/web/photos.test.mjs.
//
// The page never re-encodes or resizes a photo before sending it: the server hashes the bytes as
// they were uploaded (MD5 and SHA-256 against the operator's lists of known illegal images), and
// a copy re-encoded in the browser would slip past those two exact matches.

/** The side of a thumbnail on the server (photos/sanitise.py). */
export const THUMB_SIDE = 320;
/** The server's default `photos.max_bytes`, until an `upload_granted` says the real one. */
export const DEFAULT_MAX_BYTES = 8 << 20;

/**
 * @typedef {object} FileLike
 * @property {number} size
 * @property {string} type  the browser's guess from the name ("" when it has none)
 * @property {string} [name]
 */

/**
 * The first file that can be a photo, from a paste, a drop or the file picker.
 * @param {ArrayLike<FileLike> | null | undefined} files
 * @returns {FileLike | null}
 */
export function pickImage(files) {
  if (!files) return null;
  const all = Array.from(files);
  return all.find((f) => f.type.startsWith("image/")) ?? all.find((f) => f.type === "") ?? all[0] ?? null;
}

/**
 * The error code the page can give at once, without asking the server, or null. The server
 * decides by the bytes whatever the name or type says; these only spare a pointless upload.
 * @param {FileLike} file @param {number} [maxBytes]
 */
export function localRefusal(file, maxBytes = DEFAULT_MAX_BYTES) {
  if (file.size === 0) return "photo_empty";
  if (file.size > maxBytes) return "photo_too_large";
  if (file.type && !file.type.startsWith("image/")) return "photo_format_unsupported";
  return null;
}

/**
 * "850 o", "12 Ko", "1,4 Mo" in French; "850 B", "12 kB", "1.4 MB" in English.
 * @param {number} bytes @param {string} [lang]
 */
export function formatBytes(bytes, lang = "fr") {
  const units = lang === "fr" ? ["o", "Ko", "Mo", "Go"] : ["B", "kB", "MB", "GB"];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  const number = new Intl.NumberFormat(lang, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value);
  return `${number} ${units[unit]}`;
}

/**
 * The photo's own id, from its capability URL (`/photos/<id>`): what `report {target:
 * "photo:<id>"}` names.
 * @param {string} url
 */
export function photoId(url) {
  const match = /\/photos\/([A-Za-z0-9_-]+)(?:\/thumb)?$/.exec(url);
  return match ? match[1] : null;
}

/** Whole percent of an upload sent, 0 to 100. @param {number} sent @param {number} total */
export function percent(sent, total) {
  if (!(total > 0)) return 0;
  return Math.max(0, Math.min(100, Math.floor((sent / total) * 100)));
}

/**
 * The box a photo of `width` x `height` gets when it fits in `side` x `side` (never enlarged),
 * in whole pixels, at least 1: the thumbnail's size before it has loaded, so that the log does
 * not jump.
 * @param {number} width @param {number} height @param {number} [side]
 */
export function fitBox(width, height, side = THUMB_SIDE) {
  if (!(width > 0) || !(height > 0)) return { width: side, height: side };
  const scale = Math.min(1, side / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * Bytes of an upload that have left the page: what was handed to the socket minus what it still
 * buffers (`WebSocket.bufferedAmount` also counts text frames queued behind it, hence the clamp).
 * @param {number} total @param {number} buffered
 */
export function bytesSent(total, buffered) {
  return Math.max(0, Math.min(total, total - buffered));
}
