// The WebSocket to /ws on the page's own host. It only moves frames: the server may send one
// JSON object per message or, when several are ready at once, a JSON array of them; both reach
// `onFrame` one frame at a time, in order.

export function socketUrl(loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws`;
}

export class Connection {
  constructor({ onFrame, onClose }) {
    this.onFrame = onFrame;
    this.onClose = onClose;
    this.socket = null;
    this.opening = null;
    this.refCounter = 0;
    // Sockets closed on purpose, whose close event must not look like a lost connection.
    this.abandoned = new WeakSet();
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** Open the socket if needed; resolves once frames can be sent. */
  open() {
    if (this.isOpen) return Promise.resolve();
    if (this.opening) return this.opening;
    this.opening = new Promise((resolve, reject) => {
      const socket = new WebSocket(socketUrl());
      this.socket = socket;
      let opened = false;
      socket.addEventListener("open", () => {
        opened = true;
        this.opening = null;
        resolve();
      });
      socket.addEventListener("message", (event) => {
        if (!this.abandoned.has(socket)) this.#receive(event.data);
      });
      socket.addEventListener("close", (event) => {
        const abandoned = this.abandoned.has(socket);
        if (this.socket === socket) this.socket = null;
        if (!opened) {
          if (!abandoned) this.opening = null;
          reject(new Error("connection failed"));
        } else if (!abandoned) {
          this.onClose(event);
        }
      });
    });
    return this.opening;
  }

  send(frame) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * A photo's bytes, as one binary message: only right after its `upload_granted`.
   * @param {ArrayBuffer} data
   */
  sendBinary(data) {
    if (!this.isOpen) return false;
    this.socket.send(data);
    return true;
  }

  /** Bytes handed to the socket that have not left yet (0 when closed). */
  get bufferedAmount() {
    return this.socket ? this.socket.bufferedAmount : 0;
  }

  nextRef() {
    this.refCounter += 1;
    return `w${this.refCounter}`;
  }

  /** Close on purpose: `onClose` is not called for it. */
  close() {
    const socket = this.socket;
    this.socket = null;
    this.opening = null;
    if (socket) {
      this.abandoned.add(socket);
      socket.close(1000, "bye");
    }
  }

  #receive(data) {
    if (typeof data !== "string") return;
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      console.warn("causerie: undecodable frame dropped");
      return;
    }
    const frames = Array.isArray(parsed) ? parsed : [parsed];
    for (const frame of frames) {
      if (frame && typeof frame.type === "string") this.onFrame(frame);
    }
  }
}
