// The open room's own settings in the side panel: its topic (moderators
// and up: PATCH /rooms/{room}) and leaving it (POST /rooms/{room}/leave).
// Leaving asks twice, on the same button: a private room cannot be
// rejoined without a new invite.

import { api } from './api.js';
import { el } from './elements.js';
import { S } from './state.js';
import { roomInfo, roomLabel } from './membership.js';
import { canModerate } from './roles.js';
import { handleApiError } from './session.js';

/** How long "Leave #room? Click again" waits for the second click. */
const LEAVE_ARMED = 5_000;
let leaveTimer = null;

export function renderRoomSettings() {
  const name = S.current;
  const room = roomInfo(name);
  const gone = !name || S.gone.has(name);
  el.topicForm.hidden = gone || !canModerate(room, S.admin);
  // Not while typing in it: a presence re-draw must not undo an edit.
  if (document.activeElement !== el.topicInput) el.topicInput.value = room?.topic || '';
  el.leave.hidden = gone || !S.mine.has(name);
  if (!el.leave.dataset.armed) disarmLeave();
}

/** A room was shown: what the forms said was about the last one. */
export function showRoomSettings() {
  el.topicError.textContent = '';
  el.leaveError.textContent = '';
  if (document.activeElement === el.topicInput) el.topicInput.blur();
  disarmLeave();
  renderRoomSettings();
}

function disarmLeave() {
  clearTimeout(leaveTimer);
  leaveTimer = null;
  delete el.leave.dataset.armed;
  el.leave.textContent = S.current && roomInfo(S.current)?.visibility === 'direct' ? 'Leave conversation' : 'Leave room';
}

/**
 * left(room): the server agreed to my leaving; access.js treats it as the
 * `removed` ("left") that the server also sends to every socket of mine.
 * topicIs(room, topic): the server took a new topic (its room_updated
 * says so too, but not to a page whose socket is down).
 */
export function wireRoomSettings({ left, topicIs }) {
  el.topicForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = S.current;
    el.topicError.textContent = '';
    try {
      const room = await api.updateRoom(name, { topic: el.topicInput.value.trim() });
      el.topicInput.blur();
      if (typeof room?.topic === 'string') topicIs(name, room.topic);
    } catch (err) {
      if (handleApiError(err)) return;
      el.topicError.textContent = err.message;
    }
  });
  el.leave.addEventListener('click', async () => {
    const name = S.current;
    if (!name) return;
    el.leaveError.textContent = '';
    if (!el.leave.dataset.armed) {
      el.leave.dataset.armed = 'true';
      el.leave.textContent = `Leave ${roomLabel(name)}? Click again`;
      leaveTimer = setTimeout(disarmLeave, LEAVE_ARMED);
      return;
    }
    disarmLeave();
    el.leave.disabled = true;
    try {
      await api.leave(name);
      left(name);
    } catch (err) {
      if (handleApiError(err)) return;
      el.leaveError.textContent = err.message;
    } finally {
      el.leave.disabled = false;
    }
  });
}
