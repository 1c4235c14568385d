// The agent inbox: lists on the left, the open conversation on the right, kept live by events.
// Events are hints (docs/architecture.md §6): every event makes the page re-fetch the fragment it affects,
// and every (re)connect re-fetches the lists and the open thread's newest page. Messages are keyed by
// id and inserted idempotently, so a repeated or late fragment never duplicates or reorders anything.
//
// This entry module starts the page; each module it imports does one job, named in its first lines.
// What more than one module shares lives in state.js, nowhere else. Imports keep to one form,
// `import { a } from "./x.js";`, and make no cycle, so that hashed static names can be rewritten into
// them (docs/decisions/inbox-es-modules.md; tests/integration/inbox/test_inbox_modules.py).
import { listenControls } from "./controls.js";
import { listenKeys } from "./keyboard.js";
import { updateTitle } from "./lists.js";
import { listenLive } from "./live.js";
import { followNavigation, initPane } from "./pane.js";
import { startTicking } from "./presence.js";
import { showMute } from "./sound.js";
import { pane, state, stateInit } from "./state.js";
import { keepThreadPinned } from "./thread.js";

const root = document.getElementById("inbox");
if (root) {
  stateInit(root);
  keepThreadPinned();
  listenLive();
  listenControls();
  listenKeys();
  followNavigation();
  showMute();
  startTicking();
  updateTitle();
  if (pane()) { history.replaceState({ id: state.openId }, "", pane().dataset.url); initPane(true); }
}
