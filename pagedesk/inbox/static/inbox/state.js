// What more than one inbox module reads or changes. A module keeps everything else to itself.
export const state = {
  root: null, // #inbox: its data- attributes carry the agent's id and the page's URLs
  me: 0, // the agent's user id
  baseTitle: "", // the page title without the unread count
  openId: null, // the conversation the pane shows, or null
  activeTab: "active",
  // The conversation an action (close, transfer, return) is being taken on, and whether an event
  // about it came meanwhile (refreshPaneHead left it to the action's answer).
  acting: null,
  missedWhileActing: false,
};

export function stateInit(root) {
  state.root = root;
  state.me = Number(root.dataset.agentId);
  state.baseTitle = document.title;
  state.openId = Number(root.dataset.openId) || null;
}

// The open conversation's pane (its data- attributes carry the conversation's URLs), or null.
export function pane() { return document.getElementById("pane-root"); }
