// The page's fixed elements, looked up once at boot. Filled by
// bindElements() rather than at import, so the other modules can be
// imported outside a browser (the unit tests in e2e/unit/ do).

export const el = {};

const IDS = {
  boot: 'boot',
  authView: 'auth-view',
  authForm: 'auth-form',
  authUser: 'auth-username',
  authPass: 'auth-password',
  authError: 'auth-error',
  authNotice: 'auth-notice',
  loginButton: 'login-button',
  registerButton: 'register-button',
  chatView: 'chat-view',
  menuToggle: 'menu-toggle',
  scrim: 'scrim',
  roomTitle: 'room-title',
  roomTopic: 'room-topic',
  connStatus: 'conn-status',
  banner: 'banner',
  bannerText: 'banner-text',
  bannerAction: 'banner-action',
  roomList: 'room-list',
  newRoom: 'new-room',
  newRoomForm: 'new-room-form',
  newRoomName: 'new-room-name',
  newRoomTopic: 'new-room-topic',
  newRoomError: 'new-room-error',
  meAvatar: 'me-avatar',
  meName: 'me-name',
  logout: 'logout-button',
  accountButton: 'account-button',
  accountDialog: 'account-dialog',
  accountClose: 'account-close',
  passwordForm: 'password-form',
  passwordUsername: 'password-username',
  passwordCurrent: 'password-current',
  passwordNew: 'password-new',
  passwordAgain: 'password-again',
  passwordError: 'password-error',
  passwordDone: 'password-done',
  passwordSubmit: 'password-submit',
  sessionList: 'session-list',
  sessionsError: 'sessions-error',
  logoutAll: 'logout-all-button',
  scroller: 'scroller',
  listHost: 'list-host',
  jumpBottom: 'jump-bottom',
  typing: 'typing',
  composer: 'composer',
  input: 'composer-input',
  onlineToggle: 'online-toggle',
  onlineToggleCount: 'online-toggle-count',
  onlineCount: 'online-count',
  onlineList: 'online-list',
};

export function bindElements(doc = document) {
  for (const [key, id] of Object.entries(IDS)) el[key] = doc.getElementById(id);
}
