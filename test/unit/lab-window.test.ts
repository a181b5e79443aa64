/**
 * The Lab window's wiring (electron/shell/lab-window.ts) against a fake of the Electron classes
 * it uses: the Electron binary cannot run here, so this pins what the shell asks of Electron —
 * the strip docked above the Lab page, each view's preferences, what the strip may load, the
 * strip registry the IPC uses, and the two-step close.
 */
import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RoamlabEvent, SessionView } from '../../electron/common/ipc-contract';
import { LabWindows, STRIP_HEIGHT } from '../../electron/shell/lab-window';

const fake = vi.hoisted(() => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { EventEmitter: Emitter } = require('node:events') as typeof import('node:events');
  let nextId = 100;
  class FakeWebContents extends Emitter {
    readonly id = nextId++;
    destroyed = false;
    /** What the page answers to beforeunload: true = it asks to stay. */
    preventsUnload = false;
    url = '';
    loaded: string[] = [];
    openHandler: ((d: { url: string }) => { action: string }) | undefined;
    closeCalls: unknown[] = [];
    focused = 0;
    isDestroyed() {
      return this.destroyed;
    }
    loadURL(url: string) {
      this.loaded.push(url);
      this.url = url;
      return Promise.resolve();
    }
    getURL() {
      return this.url;
    }
    setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
      this.openHandler = h;
    }
    focus() {
      this.focused++;
    }
    close(opts?: { waitForBeforeUnload?: boolean }) {
      this.closeCalls.push(opts);
      if (opts?.waitForBeforeUnload && this.preventsUnload) {
        let leave = false;
        this.emit('will-prevent-unload', { preventDefault: () => (leave = true) });
        if (!leave) return;
      }
      this.destroyed = true;
      this.emit('destroyed');
    }
  }
  class FakeView {
    readonly webContents = new FakeWebContents();
    bounds: unknown;
    constructor(readonly options: { webPreferences?: Record<string, unknown> }) {
      views.push(this);
    }
    setBounds(b: unknown) {
      this.bounds = b;
    }
  }
  class FakeWindow extends Emitter {
    destroyed = false;
    width = 1280;
    height = 860;
    readonly children: FakeView[] = [];
    readonly contentView = { addChildView: (v: FakeView) => void this.children.push(v) };
    menu: unknown;
    constructor(readonly options: Record<string, unknown>) {
      super();
      windows.push(this);
    }
    getContentBounds() {
      return { x: 0, y: 0, width: this.width, height: this.height };
    }
    setMenu(m: unknown) {
      this.menu = m;
    }
    isDestroyed() {
      return this.destroyed;
    }
    isVisible() {
      return true;
    }
    isMinimized() {
      return false;
    }
    show() {}
    focus() {}
    restore() {}
    close() {
      if (this.destroyed) return;
      let prevented = false;
      this.emit('close', { preventDefault: () => (prevented = true) });
      if (prevented) return;
      this.destroyed = true;
      this.emit('closed');
    }
  }
  const windows: FakeWindow[] = [];
  const views: FakeView[] = [];
  const fakeSession = { setPermissionRequestHandler: () => undefined, setPermissionCheckHandler: () => undefined, setDevicePermissionHandler: () => undefined };
  return {
    windows,
    views,
    FakeWindow,
    FakeView,
    dialog: { showMessageBox: vi.fn(async () => ({ response: 1 })), showMessageBoxSync: vi.fn(() => 0) },
    session: { fromPartition: vi.fn(() => fakeSession) },
    shell: { openExternal: vi.fn(async () => undefined) },
  };
});

vi.mock('electron', () => ({
  BaseWindow: fake.FakeWindow,
  WebContentsView: fake.FakeView,
  Menu: class {},
  dialog: fake.dialog,
  session: fake.session,
  shell: fake.shell,
}));


const APP = 'app://roamlab';
const STRIP_URL = `${APP}/strip.html`;

function view(over: Partial<SessionView> = {}): SessionView {
  return { sessionId: 's1', facilityId: 'lim', facilityName: 'Limits facility', serverName: '', classId: 'tiny', classLabel: 'Tiny', state: 'ready', reason: 'ready', requestedAt: 1, ...over };
}

function setup() {
  const service = Object.assign(new EventEmitter<{ event: [RoamlabEvent] }>(), {
    log: { info: vi.fn(), warn: vi.fn() },
    sessions: [view()] as SessionView[],
    visible: [] as [string, boolean][],
    listSessions() {
      return this.sessions;
    },
    setLabVisible(id: string, v: boolean) {
      this.visible.push([id, v]);
    },
    stopServer: vi.fn(async () => undefined),
  });
  const notify = vi.fn();
  const labs = new LabWindows({
    service: service as never,
    notify,
    menu: () => ({}) as never,
    strip: { url: STRIP_URL, preload: '/app/dist/electron/shell/strip-preload.js', appOrigin: APP },
  });
  labs.open({ sessionId: 's1', url: 'http://127.0.0.1:41234/__roamlab/enter?key=k', title: 'Limits facility — Tiny', facilityId: 'lim' });
  const win = fake.windows.at(-1)!;
  const [lab, strip] = win.children as [InstanceType<typeof fake.FakeView>, InstanceType<typeof fake.FakeView>];
  return { service, notify, labs, win, lab, strip };
}

describe('the Lab window: a status strip docked above the Lab page', () => {
  beforeEach(() => {
    fake.windows.length = 0;
    fake.views.length = 0;
    vi.clearAllMocks();
  });

  it('lays the strip on top, one line high, and the Lab page below it, and again on resize', () => {
    const { win, lab, strip } = setup();
    expect(win.options).toMatchObject({ title: 'Limits facility — Tiny' });
    expect(strip.bounds).toEqual({ x: 0, y: 0, width: 1280, height: STRIP_HEIGHT });
    expect(lab.bounds).toEqual({ x: 0, y: STRIP_HEIGHT, width: 1280, height: 860 - STRIP_HEIGHT });
    win.width = 900;
    win.height = 600;
    win.emit('resize');
    expect(strip.bounds).toEqual({ x: 0, y: 0, width: 900, height: STRIP_HEIGHT });
    expect(lab.bounds).toEqual({ x: 0, y: STRIP_HEIGHT, width: 900, height: 600 - STRIP_HEIGHT });
  });

  it('keeps each view to its own: the Lab page in its facility partition without preload, the strip sandboxed with its own preload', () => {
    const { lab, strip } = setup();
    expect(lab.options.webPreferences).toMatchObject({ partition: 'persist:facility-lim', sandbox: true, contextIsolation: true, nodeIntegration: false, webviewTag: false });
    expect(lab.options.webPreferences).not.toHaveProperty('preload');
    expect(strip.options.webPreferences).toMatchObject({
      preload: '/app/dist/electron/shell/strip-preload.js',
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
    });
    // The default session: where app:// is served, apart from every Lab partition.
    expect(strip.options.webPreferences).not.toHaveProperty('partition');
    expect(strip.webContents.loaded).toEqual([STRIP_URL]);
    expect(lab.webContents.loaded).toEqual(['http://127.0.0.1:41234/__roamlab/enter?key=k']);
  });

  it('the strip goes nowhere but its page and opens no window', () => {
    const { strip } = setup();
    const navigate = (url: string) => {
      const e = { url, isMainFrame: true, preventDefault: vi.fn() };
      strip.webContents.emit('will-navigate', e);
      return e.preventDefault.mock.calls.length === 0;
    };
    expect(navigate(`${STRIP_URL}?x=1`)).toBe(true);
    expect(navigate(`${APP}/index.html`)).toBe(false);
    expect(navigate('http://127.0.0.1:41234/lab')).toBe(false);
    expect(navigate('https://example.org/')).toBe(false);
    expect(fake.shell.openExternal).not.toHaveBeenCalled();
    expect(strip.webContents.openHandler?.({ url: 'https://example.org/' })).toEqual({ action: 'deny' });
  });

  it('tells the strip IPC which session a strip shows (and nothing for the Lab page)', () => {
    const { labs, lab, strip } = setup();
    expect(labs.sessionOf(strip.webContents.id)).toBe('s1');
    expect(labs.sessionOf(lab.webContents.id)).toBeUndefined();
    expect(labs.all()).toEqual([{ sessionId: 's1', contents: strip.webContents }]);
  });

  it('focus goes to the Lab page, not the strip', () => {
    const { win, lab, strip } = setup();
    win.emit('focus');
    expect(lab.webContents.focused).toBe(1);
    expect(strip.webContents.focused).toBe(0);
  });

  it("closing asks the Lab page first (its unsaved changes); 'Keep open' keeps all, 'Close anyway' closes both views and says the server keeps running", () => {
    const { win, lab, strip, notify, labs, service } = setup();
    lab.webContents.preventsUnload = true;
    fake.dialog.showMessageBoxSync.mockReturnValueOnce(1); // Keep open
    win.close();
    expect(lab.webContents.closeCalls).toEqual([{ waitForBeforeUnload: true }]);
    expect(win.isDestroyed()).toBe(false);
    expect(notify).not.toHaveBeenCalled();

    fake.dialog.showMessageBoxSync.mockReturnValueOnce(0); // Close anyway
    win.close();
    expect(win.isDestroyed()).toBe(true);
    expect(lab.webContents.isDestroyed()).toBe(true);
    expect(strip.webContents.isDestroyed()).toBe(true);
    expect(notify).toHaveBeenCalledTimes(1);
    expect(notify.mock.calls[0]![0]).toMatchObject({ title: 'Your server keeps running' });
    expect(labs.all()).toEqual([]);
    expect(service.visible.at(-1)).toEqual(['s1', false]);
  });

  it('a session that ended closes its window without asking the page', () => {
    const { win, lab, service, notify } = setup();
    lab.webContents.preventsUnload = true;
    service.sessions = [view({ state: 'ended' })];
    service.emit('event', { type: 'session', session: view({ state: 'ended' }) });
    expect(lab.webContents.closeCalls).toEqual([{ waitForBeforeUnload: false }]);
    expect(win.isDestroyed()).toBe(true);
    expect(fake.dialog.showMessageBoxSync).not.toHaveBeenCalled();
    expect(notify).not.toHaveBeenCalled();
  });
});
