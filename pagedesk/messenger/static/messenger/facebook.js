// "Activate with Facebook": the button on campaign pages (messenger/_activate_button.html), the pop-up
// pre-opened by the new-campaign form (_preopen_popup.html) and the pop-up's own pages (popup_base.html).
// A static file, not inline code, so the Content-Security-Policy can forbid inline scripts. The templates
// that need it each include it, and htmx may add it again with a fragment: everything binds once.
(function () {
  "use strict";
  var AUTO_OPEN_KEY = "pagedesk-fb-autoopen";
  var CHANNEL = "pagedesk-facebook";
  var MESSAGE_TYPE = "pagedesk.facebook.activated";

  function bindActivateButton(box) {
    if (box.dataset.fbBound) return;
    box.dataset.fbBound = "1";
    var blocked = box.querySelector("[data-testid=popup-blocked]");
    function open() {
      var w = 640, h = 720;
      var left = Math.max(0, (window.screenX || 0) + ((window.outerWidth || w) - w) / 2);
      var top = Math.max(0, (window.screenY || 0) + ((window.outerHeight || h) - h) / 2);
      // One fixed window name: a blank pop-up pre-opened by the Save click (_preopen_popup.html) is reused,
      // which browsers allow even though the page that navigates it has no user gesture any more.
      var popup = window.open(box.dataset.startUrl, CHANNEL,
        "popup=yes,width=" + w + ",height=" + h + ",left=" + left + ",top=" + top);
      if (!popup || popup.closed) { blocked.hidden = false; return; }
      blocked.hidden = true;
      popup.focus();
    }
    box.querySelector("button").addEventListener("click", open);
    var done = false;
    function activated(data) {
      if (done || !data || data.type !== MESSAGE_TYPE) return;
      if (String(data.campaign_id) !== box.dataset.campaignId) return;
      done = true;
      var target = box.dataset.refreshTarget && document.querySelector(box.dataset.refreshTarget);
      if (target && window.htmx) { window.htmx.trigger(target, "refresh"); done = false; } else { window.location.reload(); }
    }
    window.addEventListener("message", function (event) {
      if (event.origin === window.location.origin) activated(event.data);
    });
    if (window.BroadcastChannel) {
      new BroadcastChannel(CHANNEL).addEventListener("message", function (event) { activated(event.data); });
    }
    // Auto-open: asked for by the include, or right after the new-campaign form was submitted
    // (_preopen_popup.html left a note less than a minute ago and pre-opened the pop-up).
    var note = null;
    try { note = sessionStorage.getItem(AUTO_OPEN_KEY); sessionStorage.removeItem(AUTO_OPEN_KEY); } catch (e) {}
    var fresh = note && Date.now() - Number(note) < 60000;
    if (box.dataset.autoOpen || (fresh && box.dataset.autoAfterCreate)) open();
  }

  function bindPreopen(marker) {
    if (marker.dataset.fbBound) return;
    marker.dataset.fbBound = "1";
    // The form page shows again when the save failed: a note left by that submit must not open Facebook.
    try { sessionStorage.removeItem(AUTO_OPEN_KEY); } catch (e) {}
    var form = document.getElementById(marker.dataset.preopenPopupFor);
    if (!form) return;
    form.addEventListener("submit", function () {
      try { sessionStorage.setItem(AUTO_OPEN_KEY, String(Date.now())); } catch (e) {}
      var popup = window.open("", CHANNEL, "popup=yes,width=640,height=720");
      if (popup && popup.document && popup.document.body && !popup.document.body.childElementCount) {
        popup.document.title = "pagedesk";
        var p = popup.document.createElement("p");
        // CSSOM, not a style attribute: the policy allows the one, not the other.
        p.style.font = "16px system-ui, sans-serif";
        p.style.margin = "2rem";
        p.textContent = marker.dataset.preopenText;
        popup.document.body.appendChild(p);
      }
    });
  }

  function reportActivated() {
    var data = document.getElementById("pagedesk-activated-campaign");
    if (!data || data.dataset.fbBound) return;
    data.dataset.fbBound = "1";
    var message = { type: MESSAGE_TYPE, campaign_id: JSON.parse(data.textContent) };
    if (window.opener && !window.opener.closed) {
      // Same origin only: the opener is our own campaign page.
      window.opener.postMessage(message, window.location.origin);
    }
    // Belt and braces for browsers that still severed the opener: every same-origin tab hears this.
    if (window.BroadcastChannel) { new BroadcastChannel(CHANNEL).postMessage(message); }
    setTimeout(function () { window.close(); }, 800);
  }

  function each(root, selector, bind) {
    if (root.matches && root.matches(selector)) bind(root);
    root.querySelectorAll(selector).forEach(bind);
  }

  function bindAll(root) {
    each(root, "[data-fb-activate]", bindActivateButton);
    each(root, "[data-preopen-popup-for]", bindPreopen);
    reportActivated();
  }

  if (!window.pagedeskFacebookLoaded) {
    window.pagedeskFacebookLoaded = true;
    document.addEventListener("click", function (event) {
      if (event.target.closest && event.target.closest("[data-close-window]")) window.close();
    });
    document.addEventListener("htmx:load", function (event) { bindAll(event.target); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { bindAll(document); });
  } else {
    bindAll(document);
  }
})();
