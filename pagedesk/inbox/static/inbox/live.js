// Live events (app.js's socket). Events are hints (docs/architecture.md §6): each makes the page re-fetch
// the part it affects, and every (re)connect ("snapshot") re-fetches the lists and the open thread.
import { listed, listsSettled, refreshLists } from "./lists.js";
import { toast } from "./notices.js";
import { markSeen, refreshPaneHead } from "./pane.js";
import { refreshPresence } from "./presence.js";
import { ding } from "./sound.js";
import { state } from "./state.js";
import { fetchMessage, fetchNewer, fetchTail } from "./thread.js";

let connectedOnce = false;

export function listenLive() {
  window.pagedesk.on("snapshot", () => {
    refreshLists();
    refreshPresence();
    // Everything newer than what the page shows (bounded), then the newest page again for ticks.
    if (connectedOnce) { fetchNewer().then(fetchTail); refreshPaneHead(); }
    connectedOnce = true;
  });

  window.pagedesk.on("message.created", (event) => {
    const here = event.conversation_id === state.openId;
    // A member hears the messages of every queued conversation of their campaigns, also of those that
    // route by themselves, whose queue no list here shows: such a conversation shows up with the
    // conversation.assigned that hands it to this agent. Nothing to re-fetch or ring for until then,
    // unless a re-fetch that may bring it is still on its way. `pending` marks a conversation the
    // Pending list shows (ringall): its opening message is the only event this page gets about a new
    // one (docs/events.md), so it re-fetches the lists, which bring the conversation and its preview.
    if (!here && !event.pending && !listed(event.conversation_id) && listsSettled()) return;
    if (here) fetchNewer().then(() => { if (!document.hidden) markSeen(); });
    refreshLists();
    if (event.direction === "in" && (document.hidden || !here)) ding();
  });

  ["message.status_changed", "message.updated"].forEach((type) => {
    window.pagedesk.on(type, (event) => {
      if (event.conversation_id === state.openId) fetchMessage(event.message_id);
      if (type === "message.status_changed" && event.status === "pending" && event.reason && event.conversation_id === state.openId) refreshPaneHead();
    });
  });

  ["conversation.queued", "conversation.assigned", "conversation.closed", "conversation.abandoned", "conversation.transferred"].forEach((type) => {
    window.pagedesk.on(type, (event) => {
      refreshLists();
      if (event.conversation_id === state.openId) refreshPaneHead();
      if (type === "conversation.assigned" && event.agent_id === state.me && event.how !== "taken") {
        ding();
        toast(event.how === "transferred" ? "A conversation was transferred to you." : "A new conversation was assigned to you.", "info");
      }
    });
  });

  window.pagedesk.on("queue.changed", () => refreshLists());
  window.pagedesk.on("contact.updated", () => { refreshLists(); refreshPaneHead(); });
  window.pagedesk.on("campaign.token_status_changed", () => refreshPaneHead());
  window.pagedesk.on("agent.status_changed", (event) => { if (event.agent_id === state.me) refreshPresence(); });
}
