// What a reader can do to a message, in the list: the tools that hovering
// shows (and the "⋯" button opens, for touch and keyboard; a long press
// opens them too), the reaction picker, deleting after a second click, the
// earlier versions behind "(edited)", the reaction chips, and a reply's
// quote that leads to the original.
//
// One set of listeners on the list host serves every message of every
// room: messages come and go, the host stays. What opens under a message
// (the picker, the versions, the question before deleting) is a panel in
// the message itself, so it scrolls with it and nothing floats over the
// list. Escape closes the innermost thing open and gives the focus back
// to what opened it.

import { api, ApiError } from './api.js';
import { el } from './elements.js';
import { S, isMe } from './state.js';
import { h, timeElement } from './dom.js';
import { stateOf, syncTools } from './messages.js';
import { toggleReaction, deleteMessage } from './changes.js';
import { startReply, startEdit } from './composer.js';
import { COMMON_EMOJI, emojiName, recentEmoji, rememberEmoji } from './emoji.js';
import { handleApiError } from './session.js';
import { notify } from './notify.js';

/** How long a finger rests on a message before its tools open. */
const LONG_PRESS = 500;
/** How far it may move meanwhile (px) and still be a press, not a scroll. */
const PRESS_SLOP = 10;
/** How long the original of a reply stays highlighted once scrolled to. */
const FLASH = 1_600;

/** The message whose tools are open (by "⋯", a long press, or the keyboard). */
let openLi = null;
let press = null;
/** A long press opened the tools: the click that ends it does nothing more. */
let swallowClick = false;

function messageOf(node) {
  return node?.closest?.('li.msg[data-id]') ?? null;
}

function idOf(li) {
  return Number(li.dataset.id);
}

function focusables(container) {
  return [...container.querySelectorAll('button')].filter((b) => !b.hidden && !b.disabled && b.offsetParent !== null);
}

/** Left / Right / Up / Down / Home / End move the focus among the buttons of `container`. */
function rove(container, event) {
  const keys = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1, Home: -Infinity, End: Infinity };
  if (!(event.key in keys)) return false;
  const buttons = focusables(container);
  if (!buttons.length) return false;
  const at = buttons.indexOf(document.activeElement);
  const step = keys[event.key];
  const next = Math.abs(step) === Infinity ? (step < 0 ? 0 : buttons.length - 1) : (at + step + buttons.length) % buttons.length;
  event.preventDefault();
  buttons[next].focus();
  return true;
}

// ---------------------------------------------------------------- tools

/** Opens a message's tools; `focus`: move the focus to the first one (keyboard, "⋯"). */
function openTools(li, { focus = true } = {}) {
  if (openLi && openLi !== li) closeTools();
  if (!syncTools(li)) return;
  openLi = li;
  li.classList.add('tools-open');
  li.querySelector('.msg-more')?.setAttribute('aria-expanded', 'true');
  // Open, they are in the tab order; closed, only "⋯" is (one stop per message, not four).
  for (const b of li.querySelectorAll('.msg-toolbar .tool')) b.tabIndex = 0;
  if (focus) li.querySelector('.msg-toolbar .tool:not([hidden])')?.focus();
}

function closeTools({ refocus = false } = {}) {
  const li = openLi;
  if (!li) return;
  openLi = null;
  li.classList.remove('tools-open');
  li.querySelector('.msg-more')?.setAttribute('aria-expanded', 'false');
  for (const b of li.querySelectorAll('.msg-toolbar .tool')) b.tabIndex = -1;
  if (refocus) li.querySelector('.msg-more')?.focus();
}

function onTool(li, action, button) {
  const id = idOf(li);
  switch (action) {
    case 'react':
      togglePanel(li, 'picker', button);
      break;
    case 'reply':
      closeTools();
      startReply(id);
      break;
    case 'edit':
      closeTools();
      startEdit(id);
      break;
    case 'delete':
      togglePanel(li, 'delete', button);
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------- panels

/** Whatever opened a panel gets the focus back when it closes (if it is still there). */
const openers = new WeakMap();

function panelOf(li, kind) {
  return li.querySelector(`.msg-panel[data-kind="${kind}"]`);
}

function closePanel(panel, { refocus = false } = {}) {
  if (!panel) return;
  const li = messageOf(panel);
  const opener = openers.get(panel);
  panel.remove();
  if (panel.dataset.kind === 'versions') li?.querySelector('.msg-edited')?.setAttribute('aria-expanded', 'false');
  if (!refocus) return;
  if (opener?.isConnected && !opener.hidden && opener.offsetParent !== null) opener.focus();
  else li?.querySelector('.msg-more')?.focus();
}

/** One panel per message: opening one closes another; opening the same one again closes it. */
function togglePanel(li, kind, opener) {
  const open = panelOf(li, kind);
  for (const panel of li.querySelectorAll('.msg-panel')) closePanel(panel);
  if (open) {
    opener?.focus();
    return;
  }
  const state = stateOf(li);
  if (!state || state.deleted) return;
  const panel =
    kind === 'picker' ? pickerPanel(li) : kind === 'delete' ? deletePanel(li, state) : kind === 'versions' ? versionsPanel(li, state) : null;
  if (!panel) return;
  panel.classList.add('msg-panel');
  panel.dataset.kind = kind;
  openers.set(panel, opener);
  li.querySelector('.msg-body').append(panel);
  panel.scrollIntoView({ block: 'nearest' });
  (panel.querySelector('[data-autofocus]') || focusables(panel)[0])?.focus({ preventScroll: true });
}

/** The emoji to react with: the ones used last here, then the common ones. */
function pickerPanel() {
  const recent = recentEmoji(localStorage);
  const choice = (emoji) =>
    h('button', {
      className: 'emoji-choice',
      text: emoji,
      attrs: { type: 'button', 'aria-label': `React with ${emojiName(emoji)}`, title: emojiName(emoji) },
      dataset: { emoji },
    });
  const panel = h('div', { className: 'emoji-picker', attrs: { role: 'group', 'aria-label': 'Pick a reaction' } });
  if (recent.length) {
    panel.append(h('div', { className: 'picker-row', attrs: { role: 'group', 'aria-label': 'Used recently' } }, h('span', { className: 'picker-label', text: 'Recent' }), ...recent.map(choice)));
  }
  panel.append(h('div', { className: 'picker-row', attrs: { role: 'group', 'aria-label': 'Common' } }, ...COMMON_EMOJI.map(([e]) => choice(e))));
  return panel;
}

function deletePanel(li, state) {
  const whose = isMe(state.user) ? 'this message' : `this message from ${state.user}`;
  const yes = h('button', { className: 'secondary small danger', text: 'Delete', attrs: { type: 'button', 'data-autofocus': true }, dataset: { confirm: 'delete' } });
  const no = h('button', { className: 'secondary small', text: 'Cancel', attrs: { type: 'button' }, dataset: { confirm: 'cancel' } });
  return h(
    'div',
    { className: 'confirm-delete', attrs: { role: 'group', 'aria-label': 'Delete the message?' } },
    h('span', { text: `Delete ${whose}? It cannot be undone.` }),
    yes,
    no,
  );
}

/** "(edited)": every version, oldest first, from the server (which may keep none). */
function versionsPanel(li, state) {
  const status = h('p', { className: 'versions-status', text: 'Loading the versions…', attrs: { role: 'status' } });
  const list = h('ol', { className: 'versions-list' });
  const close = h('button', { className: 'link-button', text: 'Close', attrs: { type: 'button' }, dataset: { close: 'panel' } });
  const panel = h(
    'div',
    { className: 'versions', attrs: { role: 'region', 'aria-label': 'Versions of the message' } },
    h('div', { className: 'versions-head' }, h('strong', { text: 'Versions' }), close),
    status,
    list,
  );
  li.querySelector('.msg-edited')?.setAttribute('aria-expanded', 'true');
  const room = S.current;
  api
    .versions(room, state.id)
    .then((answer) => {
      const versions = Array.isArray(answer?.versions) ? answer.versions : [];
      status.textContent = versions.length ? `${versions.length} ${versions.length === 1 ? 'version' : 'versions'}, oldest first` : 'No versions.';
      list.replaceChildren(
        ...versions.map((v, i) =>
          h(
            'li',
            { className: 'version' },
            h('span', { className: 'version-when' }, timeElement(v.ts), i === versions.length - 1 ? h('span', { className: 'version-current', text: ' (current)' }) : null),
            h('span', { className: 'version-content', text: typeof v.content === 'string' ? v.content : '' }),
          ),
        ),
      );
    })
    .catch((err) => {
      if (handleApiError(err)) return;
      status.textContent =
        err instanceof ApiError && err.status === 404
          ? 'Earlier versions are not kept on this server (or the message is gone).'
          : `Could not load the versions: ${err.message}`;
    });
  return panel;
}

// ---------------------------------------------------------------- the original of a reply

function showOriginal(id) {
  const view = S.current ? S.views.get(S.current) : null;
  const li = view?.ids.get(id);
  if (!li) {
    notify('The original message is not loaded: scroll up to load older messages.');
    return;
  }
  li.scrollIntoView({ block: 'center' });
  li.tabIndex = -1;
  li.focus({ preventScroll: true });
  li.classList.add('flash');
  setTimeout(() => li.classList.remove('flash'), FLASH);
}

// ---------------------------------------------------------------- events

function onClick(event) {
  if (swallowClick) {
    swallowClick = false;
    if (messageOf(event.target)) {
      event.preventDefault();
      return;
    }
  }
  const target = event.target.closest?.('button');
  const li = messageOf(event.target);
  if (!target || !li) return;
  const id = idOf(li);
  if (target.classList.contains('msg-more')) {
    if (openLi === li) closeTools({ refocus: true });
    else openTools(li);
  } else if (target.classList.contains('tool')) {
    onTool(li, target.dataset.action, target);
  } else if (target.classList.contains('emoji-choice')) {
    const emoji = target.dataset.emoji;
    rememberEmoji(localStorage, emoji);
    closePanel(target.closest('.msg-panel'));
    closeTools();
    toggleReaction(S.current, id, emoji);
    // Chosen by keyboard (a click with no pointer): the focus stays with the message.
    if (event.detail === 0) li.querySelector('.msg-more')?.focus({ preventScroll: true });
  } else if (target.classList.contains('reaction')) {
    rememberEmoji(localStorage, target.dataset.emoji);
    toggleReaction(S.current, id, target.dataset.emoji);
  } else if (target.dataset.confirm === 'delete') {
    closePanel(target.closest('.msg-panel'));
    closeTools();
    deleteMessage(S.current, id);
    if (event.detail === 0) li.querySelector('.msg-more')?.focus({ preventScroll: true });
  } else if (target.dataset.confirm === 'cancel' || target.dataset.close === 'panel') {
    closePanel(target.closest('.msg-panel'), { refocus: true });
  } else if (target.classList.contains('msg-edited')) {
    togglePanel(li, 'versions', target);
  } else if (target.classList.contains('msg-quote')) {
    showOriginal(Number(target.dataset.replyTo));
  }
}

function onKey(event) {
  const li = messageOf(event.target);
  if (!li) return;
  if (event.key === 'Escape') {
    const panel = event.target.closest('.msg-panel');
    if (panel) {
      event.preventDefault();
      closePanel(panel, { refocus: true });
    } else if (openLi === li) {
      event.preventDefault();
      closeTools({ refocus: true });
    }
    return;
  }
  const group = event.target.closest('.msg-toolbar, .emoji-picker');
  if (group) rove(group, event);
}

/** With a mouse, hovering shows the tools: which ones, decided now. */
function onHover(event) {
  const li = messageOf(event.target);
  if (li && !li.contains(event.relatedTarget)) syncTools(li);
}

/** The focus left a message whose tools were open: they close. */
function onFocusOut(event) {
  if (openLi && openLi.contains(event.target) && !openLi.contains(event.relatedTarget)) closeTools();
}

function onPointerDown(event) {
  swallowClick = false;
  if (event.pointerType !== 'touch') return;
  const li = messageOf(event.target);
  if (!li || event.target.closest('button, a')) return;
  cancelPress();
  press = {
    x: event.clientX,
    y: event.clientY,
    timer: setTimeout(() => {
      press = null;
      swallowClick = true;
      openTools(li, { focus: false });
    }, LONG_PRESS),
  };
}

function onPointerMove(event) {
  if (press && Math.hypot(event.clientX - press.x, event.clientY - press.y) > PRESS_SLOP) cancelPress();
}

function cancelPress() {
  if (press) clearTimeout(press.timer);
  press = null;
}

/** A click anywhere else closes the tools, and a picker or a question left open. */
function onDocumentClick(event) {
  if (openLi && !openLi.contains(event.target)) closeTools();
  for (const panel of el.listHost.querySelectorAll('.msg-panel[data-kind="picker"], .msg-panel[data-kind="delete"]')) {
    if (!messageOf(panel)?.contains(event.target)) closePanel(panel);
  }
}

/** Another room is shown: its tools are not open there. */
export function closeMessageMenus() {
  closeTools();
}

export function wireMessageMenu() {
  const host = el.listHost;
  host.addEventListener('click', onClick);
  host.addEventListener('keydown', onKey);
  host.addEventListener('mouseover', onHover);
  host.addEventListener('focusout', onFocusOut);
  host.addEventListener('pointerdown', onPointerDown);
  host.addEventListener('pointermove', onPointerMove);
  host.addEventListener('pointerup', cancelPress);
  host.addEventListener('pointercancel', cancelPress);
  // A long press on a touch screen also asks for the browser's own menu: the message's tools stand in for it.
  host.addEventListener('contextmenu', (event) => {
    if (swallowClick && messageOf(event.target)) event.preventDefault();
  });
  document.addEventListener('click', onDocumentClick);
}
