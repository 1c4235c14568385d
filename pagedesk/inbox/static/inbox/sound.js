// The new-message sound and its mute button (remembered in localStorage for every tab).

const MUTE_KEY = "pagedesk.inbox.muted";

function muted() { return localStorage.getItem(MUTE_KEY) === "1"; }

export function showMute() {
  const button = document.querySelector('[data-action="mute"]');
  if (!button) return;
  button.setAttribute("aria-pressed", String(muted()));
  button.querySelector('[data-mute-icon="on"]').hidden = muted();
  button.querySelector('[data-mute-icon="off"]').hidden = !muted();
}

export function toggleMute() {
  localStorage.setItem(MUTE_KEY, muted() ? "0" : "1");
  showMute();
}

let audio = null;
export function ding() {
  if (muted()) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const now = audio.currentTime;
    [880, 1320].forEach((freq, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.09);
      gain.gain.exponentialRampToValueAtTime(0.06, now + i * 0.09 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.09 + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.09);
      osc.stop(now + i * 0.09 + 0.3);
    });
  } catch (e) { /* no audio device: the title badge still shows */ }
}
