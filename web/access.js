// Live changes to which rooms are mine and what I may do in them, from the
// server's palaver.v1 events: room_added (invited, a direct message, joined
// elsewhere), removed (kicked, banned, or left in another tab), room_removed
// (deleted), muted / unmuted, room_updated (the topic). And the note over
// the composer that says why I cannot write in the room shown, with
// "Rejoin" for a public room I was removed from.
//
// A room I was removed from stays in the sidebar, greyed, with what it
// showed until then: the page says what happened rather than making the
// room vanish under the reader.

import { api, ApiError } from './api.js';
import { el } from './elements.js';
import { S, MAX_TIMER } from './state.js';
import { addMine, dropMine, noteSubscribed, roomInfo, roomLabel } from './membership.js';
import { restriction, removalText, deletedText, mutedText } from './restrictions.js';
import { viewFor, addNotice, refreshWelcome, syncRoomTools } from './messages.js';
import { enterRoom, renderRooms, renderHeader, subscribe } from './rooms.js';
import { loadInitial } from './history.js';
import { outbox } from './composer.js';
import { actions } from './changes.js';
import { renderOnline, renderTyping } from './presence.js';
import { renderMembers } from './members.js';
import { renderRoomSettings } from './room-settings.js';
import { notify } from './notify.js';
import { handleApiError } from './session.js';

/** The composer of the room shown: open, or closed with the reason why. */
export function renderRestriction() {
  const r = restriction(S.current);
  el.composerNote.hidden = !r;
  el.composerNote.dataset.kind = r?.kind || '';
  el.composerNoteText.textContent = r ? r.text : '';
  el.rejoin.hidden = !r?.rejoin;
  if (!r) el.composerNoteError.textContent = '';
  el.input.disabled = !!r;
  el.sendButton.disabled = !!r;
}

/** Everything that depends on my standing in `name`, drawn again. */
function redraw(name) {
  const view = S.views.get(name);
  if (view) syncRoomTools(view);
  renderRooms();
  if (S.current !== name) return;
  renderHeader();
  renderRestriction();
  renderOnline();
  renderTyping();
  renderMembers();
  renderRoomSettings();
}

export function onRoomAdded(frame) {
  const room = frame.room;
  if (!room || typeof room.name !== 'string') return;
  const back = S.gone.has(room.name);
  addMine(room);
  if (room.visibility === 'public') S.directory.add(room.name);
  if (back && S.current === room.name) {
    // Let back in while looking at it: subscribe again, from the last message seen.
    el.composerNoteError.textContent = '';
    enterRoom(room.name);
    return;
  }
  redraw(room.name);
  follow(room.name);
}

/**
 * A room I was just added to is followed at once, shown or not: its history
 * read, then subscribed from there, so that what is written in it (the
 * first message of a direct conversation) counts as unread in the sidebar.
 */
function follow(name) {
  const view = viewFor(name);
  if (view.wanted) return;
  loadInitial(view, enterRoom).then(() => {
    if (!S.gone.has(name) && S.mine.has(name)) subscribe(view);
  });
}

/** The socket stops getting `name`'s events; what it showed stays, with a notice saying why. */
function closeRoom(name, text, repeated) {
  const view = S.views.get(name);
  if (view) {
    view.wanted = false;
    view.subscribeSent = false;
    view.presenceKnown = false;
    view.online = new Set();
    view.muted = null;
    for (const t of view.typing.values()) clearTimeout(t);
    view.typing.clear();
    if (!repeated) addNotice(view, text);
  }
  outbox.failRoom(name, text);
  actions.failRoom(name, text);
  redraw(name);
  // Said wherever the reader is: a greyed room in the sidebar is easy to miss.
  if (!repeated && S.current !== name) notify(text);
}

/** I left, or a moderator removed me: `reason` is kicked, banned or left; `message` a ban's reason. */
export function removedFrom(name, reason, message) {
  if (typeof name !== 'string') return;
  const label = roomLabel(name);
  const visibility = roomInfo(name)?.visibility || (S.directory.has(name) ? 'public' : null);
  const text = removalText(label, reason, message);
  const repeated = S.gone.get(name)?.text === text;
  dropMine(name, { reason, text, rejoin: visibility === 'public' });
  closeRoom(name, text, repeated);
}

export function onRemoved(frame) {
  removedFrom(frame.room, frame.reason, frame.message);
}

export function onRoomRemoved(frame) {
  const name = frame.room;
  if (typeof name !== 'string') return;
  const text = deletedText(roomLabel(name));
  const repeated = S.gone.get(name)?.text === text;
  dropMine(name, { reason: 'deleted', text, rejoin: false });
  S.directory.delete(name);
  closeRoom(name, text, repeated);
}

function setMuted(name, until, text) {
  const view = viewFor(name);
  clearTimeout(view.muteTimer);
  view.muted = { until: until ?? null, text };
  const left = until ? new Date(until).getTime() - Date.now() : NaN;
  // A mute that ends by itself may end without an event: the note goes when it does.
  if (left > 0 && left < MAX_TIMER) view.muteTimer = setTimeout(() => setUnmuted(name, false), left);
  redraw(name);
}

function setUnmuted(name, notice) {
  const view = S.views.get(name);
  if (!view?.muted) return;
  clearTimeout(view.muteTimer);
  view.muted = null;
  if (notice) addNotice(view, `You can write in ${roomLabel(name)} again.`);
  redraw(name);
}

export function onMuted(frame) {
  if (typeof frame.room !== 'string') return;
  const text = mutedText(roomLabel(frame.room), frame.until);
  setMuted(frame.room, frame.until, text);
  addNotice(viewFor(frame.room), text);
}

export function onUnmuted(frame) {
  if (typeof frame.room === 'string') setUnmuted(frame.room, true);
}

/** The topic changed: everywhere it shows. */
export function onRoomUpdated(frame) {
  const name = frame.room;
  if (typeof name !== 'string' || typeof frame.topic !== 'string') return;
  topicIs(name, frame.topic, true);
}

/** `name`'s topic is now `topic`; `notice`: say so in the room (once: the event and the PATCH's answer may both come). */
export function topicIs(name, topic, notice) {
  const before = roomInfo(name)?.topic;
  const mine = S.mine.get(name);
  if (mine) mine.topic = topic;
  if (S.rooms.has(name)) S.rooms.set(name, { ...S.rooms.get(name), topic });
  const view = S.views.get(name);
  if (view) {
    refreshWelcome(view);
    if (notice && before !== topic) addNotice(view, topic ? `The topic is now: ${topic}` : 'The topic was cleared.');
  }
  redraw(name);
}

/** A `subscribed`: a public room I opened is one of mine from now on (the server made me a member). */
export function onSubscribedAccess(frame) {
  if (noteSubscribed(frame.room)) redraw(frame.room);
}

/** The server will not let me read `name` (banned): closed as after a ban, with Rejoin to ask again. */
export function forbiddenIn(name, detail) {
  const text = `You cannot read ${roomLabel(name)}: ${String(detail).replace(/\.$/, '')}.`;
  const repeated = S.gone.get(name)?.text === text;
  dropMine(name, { reason: 'banned', text, rejoin: true });
  closeRoom(name, text, repeated);
}

/**
 * Refusals that change what the page offers: `forbidden` (banned) for a
 * subscribe, `muted` for a send. True when nothing more is to be done
 * with the frame (a refused send still goes on to the outbox).
 */
export function onAccessError(frame) {
  if (frame.code === 'forbidden' && typeof frame.ref === 'string' && frame.ref.startsWith('sub:')) {
    forbiddenIn(frame.ref.slice(4), frame.message);
    return true;
  }
  if (frame.code === 'muted') {
    const entry = outbox.get(frame.client_id || frame.ref);
    const name = entry?.room ?? S.current;
    if (name && !S.views.get(name)?.muted) setMuted(name, null, `You cannot write in ${roomLabel(name)}: ${frame.message}.`);
    return !entry;
  }
  return false;
}

/** "Rejoin": back into a public room I was removed from, if the server lets me (a ban: it says why not). */
async function rejoin() {
  const name = S.current;
  if (!name) return;
  const known = roomInfo(name);
  el.composerNoteError.textContent = '';
  el.rejoin.disabled = true;
  let role = 'member';
  try {
    const answer = await api.join(name);
    if (typeof answer?.role === 'string') role = answer.role;
  } catch (err) {
    if (handleApiError(err)) return;
    // 409: I am a member already (joined in another tab): in, all the same.
    if (!(err instanceof ApiError && err.status === 409)) {
      el.composerNoteError.textContent = err.message;
      return;
    }
  } finally {
    el.rejoin.disabled = false;
  }
  addMine({ ...known, name, visibility: 'public', role });
  if (S.current === name) await enterRoom(name);
  else renderRooms();
}

export function wireAccess() {
  el.rejoin.addEventListener('click', rejoin);
}
