// Direct messages: a click on anyone's name (in a message, the online list
// or the member list) opens a direct room with them. POST /dms answers with
// the room whether it is new (201) or already there (200), so a second
// click on the same name opens the same conversation.

import { api } from './api.js';
import { el } from './elements.js';
import { S, isMe } from './state.js';
import { addMine } from './membership.js';
import { enterRoom, renderRooms } from './rooms.js';
import { closeDrawers } from './layout.js';
import { handleApiError } from './session.js';
import { notify } from './notify.js';

export async function startDm(username) {
  if (!S.session || !username || isMe(username)) return;
  try {
    const room = await api.dm([username]);
    // `members` names everyone in it, me too; membership.js keeps the others.
    addMine({ ...room, visibility: 'direct', role: 'member' });
    renderRooms();
    closeDrawers();
    await enterRoom(room.name);
    el.input.focus();
  } catch (err) {
    if (handleApiError(err)) return;
    notify(`Could not start a conversation with ${username}: ${err.message}`);
  }
}

/** One listener for every name on the page: the lists are re-drawn often, the page is not. */
export function wireDms() {
  el.chatView.addEventListener('click', (event) => {
    const button = event.target.closest?.('button.user-link[data-user]');
    if (button) startDm(button.dataset.user);
  });
}
