// @ts-check
// The render scheduler: any number of state changes in one task (a batch of frames from one
// WebSocket message, a click that sends and toggles) lead to one render, in a microtask. A
// microtask and not requestAnimationFrame: a hidden tab must still update its title.

/** @param {() => void} paint */
export function scheduler(paint) {
  let queued = false;
  return function schedule() {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      paint();
    });
  };
}
