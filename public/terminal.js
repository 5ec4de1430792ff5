// berth's terminal glue, loaded only by the pages that show a terminal
// (the container's terminal page, the replay of a recorded session).
// It loads xterm.js and its fit addon from berth itself (never a CDN) and
// offers two things to the wasm app, on `window.berthTerminal`:
//
//   connect(element, path, onStatus) -> { close() }
//     opens `path` (a /ws/terminal URL with its one-time ticket) as a
//     websocket with binary frames: keystrokes out, output in; the size is
//     fitted to `element` and sent as {"type":"resize"} when it changes.
//     onStatus(kind, message): "open", "recording_stopped", "closed".
//   replay(element, controls, text) -> { play(), pause(), seek(s), end() }
//     plays an asciicast v2 recording (already checked by the app) on a
//     terminal of its recorded size, with play/pause, speed and seek.
(function () {
  'use strict';
  if (window.berthTerminal) return;

  function load(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error('cannot load ' + src)); };
      document.head.appendChild(s);
    });
  }

  function stylesheet(href) {
    if (document.querySelector('link[href="' + href + '"]')) return;
    var l = document.createElement('link');
    l.rel = 'stylesheet';
    l.href = href;
    document.head.appendChild(l);
  }

  var ready = (async function () {
    stylesheet('/xterm/xterm.css');
    if (!window.Terminal) await load('/xterm/xterm.js');
    if (!window.FitAddon) await load('/xterm/addon-fit.js');
  })();

  var options = {
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
    fontSize: 14,
    scrollback: 5000,
    theme: { background: '#111418', foreground: '#e6e6e6' },
  };

  function terminal(element, extra) {
    element.replaceChildren();
    return new window.Terminal(Object.assign({}, options, extra));
  }

  async function connect(element, path, onStatus) {
    await ready;
    var term = terminal(element, { cursorBlink: true });
    var fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(element);
    try { fit.fit(); } catch (_) { /* not laid out yet: the default size */ }
    var scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var url = scheme + '//' + location.host + path + '&cols=' + term.cols + '&rows=' + term.rows;
    var ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    var encoder = new TextEncoder();
    var closed = null;
    var send = function (data) { if (ws.readyState === WebSocket.OPEN) ws.send(data); };
    ws.onopen = function () {
      onStatus('open', '');
      term.focus();
    };
    ws.onmessage = function (m) {
      if (typeof m.data !== 'string') {
        term.write(new Uint8Array(m.data));
        return;
      }
      var c;
      try { c = JSON.parse(m.data); } catch (_) { return; }
      if (c.type === 'closed') closed = c;
      else if (c.type === 'recording_stopped') onStatus('recording_stopped', c.reason);
    };
    var observer = new ResizeObserver(function () {
      try { fit.fit(); } catch (_) { /* hidden */ }
    });
    ws.onclose = function (e) {
      observer.disconnect();
      term.options.disableStdin = true;
      term.options.cursorBlink = false;
      var message = closed ? closed.reason : (e.reason || 'the connection closed (code ' + e.code + ')');
      if (closed && closed.exit_code !== null && closed.exit_code !== undefined) {
        message += ' (exit code ' + closed.exit_code + ')';
      }
      onStatus('closed', message);
    };
    term.onData(function (d) { send(encoder.encode(d)); });
    term.onBinary(function (d) {
      var bytes = new Uint8Array(d.length);
      for (var i = 0; i < d.length; i++) bytes[i] = d.charCodeAt(i) & 255;
      send(bytes);
    });
    term.onResize(function (size) {
      send(JSON.stringify({ type: 'resize', cols: size.cols, rows: size.rows }));
    });
    observer.observe(element);
    return { close: function () { ws.close(1000, 'closed from the page'); } };
  }

  function parse(text) {
    var lines = text.split('\n').filter(function (l) { return l.trim() !== ''; });
    var header = JSON.parse(lines[0]);
    var events = [];
    for (var i = 1; i < lines.length; i++) {
      var e = JSON.parse(lines[i]);
      if (e[1] === 'o' || e[1] === 'r' || e[1] === 'm') events.push(e);
    }
    return { header: header, events: events };
  }

  // m:ss.s: sessions may last less than a second.
  function clock(seconds) {
    var tenths = Math.floor(seconds * 10);
    var s = Math.floor(tenths / 10);
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0') + '.' + (tenths % 10);
  }

  function button(label, id) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn-small';
    b.id = id;
    b.textContent = label;
    return b;
  }

  async function replay(element, controls, text) {
    await ready;
    var cast = parse(text);
    var duration = cast.events.length ? cast.events[cast.events.length - 1][0] : 0;
    var term = terminal(element, { cols: cast.header.width, rows: cast.header.height, disableStdin: true });
    term.open(element);

    var play = button('▶ Play', 'replay-play');
    var speed = document.createElement('select');
    speed.id = 'replay-speed';
    speed.setAttribute('aria-label', 'Speed');
    [0.5, 1, 2, 4, 8, 16].forEach(function (s) {
      var o = document.createElement('option');
      o.value = String(s);
      o.textContent = s + '×';
      if (s === 1) o.selected = true;
      speed.appendChild(o);
    });
    var seek = document.createElement('input');
    seek.type = 'range';
    seek.id = 'replay-seek';
    seek.min = '0';
    seek.max = String(duration);
    seek.step = 'any';
    seek.value = '0';
    seek.setAttribute('aria-label', 'Position');
    var end = button('To the end', 'replay-end');
    var time = document.createElement('span');
    time.id = 'replay-time';
    time.className = 'muted';
    var note = document.createElement('span');
    note.id = 'replay-note';
    note.className = 'muted';
    controls.replaceChildren(play, speed, seek, end, time, note);

    var next = 0;          // the next event to show
    var at = 0;            // the recording's time shown, seconds
    var timer = null;
    var startedAt = 0;     // wall clock when `at` was `startAt`
    var startAt = 0;

    function show() {
      time.textContent = clock(at) + ' / ' + clock(duration);
      seek.value = String(at);
      play.textContent = timer ? '⏸ Pause' : '▶ Play';
    }

    function apply(e) {
      if (e[1] === 'o') term.write(e[2]);
      else if (e[1] === 'r') {
        var size = String(e[2]).split('x');
        term.resize(parseInt(size[0], 10), parseInt(size[1], 10));
      } else if (e[1] === 'm') note.textContent = e[2];
    }

    // Shows every event up to `t` at once.
    function upTo(t) {
      var out = '';
      while (next < cast.events.length && cast.events[next][0] <= t) {
        var e = cast.events[next++];
        if (e[1] === 'o') out += e[2];
        else { if (out) { term.write(out); out = ''; } apply(e); }
      }
      if (out) term.write(out);
      at = Math.min(t, duration);
    }

    function tick() {
      var rate = parseFloat(speed.value) || 1;
      var now = startAt + (performance.now() - startedAt) / 1000 * rate;
      upTo(now);
      if (next >= cast.events.length) { pause(); at = duration; show(); return; }
      var wait = (cast.events[next][0] - now) / rate * 1000;
      timer = setTimeout(tick, Math.max(0, Math.min(wait, 250)));
      show();
    }

    function resume() {
      if (next >= cast.events.length) seekTo(0);
      startAt = at;
      startedAt = performance.now();
      timer = setTimeout(tick, 0);
      show();
    }

    function pause() {
      if (timer) clearTimeout(timer);
      timer = null;
      show();
    }

    function seekTo(t) {
      var playing = !!timer;
      pause();
      term.reset();
      term.resize(cast.header.width, cast.header.height);
      note.textContent = '';
      next = 0;
      upTo(t);
      show();
      if (playing && next < cast.events.length) resume();
    }

    play.onclick = function () { if (timer) pause(); else resume(); };
    speed.onchange = function () { if (timer) { pause(); resume(); } };
    seek.oninput = function () { seekTo(parseFloat(seek.value) || 0); };
    end.onclick = function () { seekTo(duration); };
    show();
    return { play: resume, pause: pause, seek: seekTo, end: function () { seekTo(duration); } };
  }

  window.berthTerminal = { ready: ready, connect: connect, replay: replay };
})();
