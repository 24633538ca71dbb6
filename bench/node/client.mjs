// Subscriber side of bench/bench_fanout.py (`--client node`), driven by the bench over
// stdin/stdout: one JSON command per line in ([cmd, args]), one JSON reply per line out
// ([kind, value]), the same commands and replies as the Python client process.
//
// It mirrors the Python client: N connections to ws://127.0.0.1:PORT/ws/master, 64
// handshakes at a time, the first `active` send the subscribe text and wait for two text
// frames (subscribed + snapshot), the rest stay idle; no permessage-deflate. Each update's
// embedded publish time `"t"` (Python time.monotonic() seconds) is compared with
// process.hrtime.bigint() — both CLOCK_MONOTONIC on Linux — when the message is read.
import net from "node:net";
import readline from "node:readline";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

const SEQ = /"seq":(\d+),"t":([0-9.]+)/;
const nowS = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let clients = [];
let sink = []; // [seq, latency seconds]

function reply(kind, value) {
  process.stdout.write(JSON.stringify([kind, value]) + "\n");
}

function openClient(url, subscribe) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true,
                                   maxPayload: 0 });
    let expect = subscribe ? 2 : 0;
    const timer = setTimeout(() => reject(new Error("connect timeout")), 60000);
    ws.on("error", (err) => { clearTimeout(timer); reject(err); });
    ws.on("open", () => {
      if (subscribe) ws.send(subscribe);
      else { clearTimeout(timer); resolve(ws); }
    });
    ws.on("message", (data, isBinary) => {
      const now = nowS();
      if (isBinary) return;
      if (expect) {
        expect -= 1;
        if (!expect) { clearTimeout(timer); resolve(ws); }
        return;
      }
      const m = SEQ.exec(data.toString("latin1", 0, Math.min(400, data.length)));
      if (m) sink.push([+m[1], now - parseFloat(m[2])]);
    });
  });
}

async function connect(port, n, subscribe, active) {
  const url = `ws://127.0.0.1:${port}/ws/master`;
  const t0 = performance.now();
  const out = new Array(n);
  let next = 0;
  async function worker() { // 64 handshakes in flight, as the Python client's semaphore
    while (next < n) {
      const i = next++;
      out[i] = await openClient(url, i < active ? subscribe : null);
    }
  }
  await Promise.all(Array.from({ length: Math.min(64, n) }, worker));
  clients.push(...out);
  return Math.round((performance.now() - t0) / 10) / 100;
}

function restOnce(port, req) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const chunks = [];
    const sock = net.connect(port, "127.0.0.1", () => sock.write(req));
    sock.on("data", (c) => chunks.push(c));
    sock.on("error", reject);
    sock.on("end", () => {
      const ms = performance.now() - t0;
      const body = Buffer.concat(chunks);
      if (!body.subarray(0, 12).equals(Buffer.from("HTTP/1.1 200"))) {
        reject(new Error(body.subarray(0, 200).toString()));
      } else resolve(ms);
    });
  });
}

async function handle(cmd, args) {
  switch (cmd) {
    case "connect": {
      const [port, n, subscribe] = args;
      const active = args.length > 3 ? args[3] : n;
      return reply("connected", await connect(port, n, subscribe, active));
    }
    case "collect":
      reply("stats", sink);
      sink = [];
      return;
    case "close":
      for (const ws of clients) ws.terminate();
      clients = [];
      await sleep(500);
      return reply("closed", null);
    case "rest": {
      const [port, paths, count] = args;
      const out = {};
      for (const path of paths) {
        const req = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
        const times = [];
        for (let i = 0; i < count; i++) times.push(await restOnce(port, req));
        out[path] = times;
      }
      return reply("rest", out);
    }
    case "clock": // for the bench's check that both processes read one clock
      return reply("clock", process.hrtime.bigint().toString());
    case "exit":
      reply("bye", null);
      process.stdout.write("", () => process.exit(0));
      return;
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

// Commands are handled one at a time, in order, like the Python client's loop.
let chain = Promise.resolve();
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const [cmd, args] = JSON.parse(line);
  chain = chain.then(() => handle(cmd, args)).catch((err) => {
    process.stderr.write(`client.mjs: ${err.stack || err}\n`);
    process.exit(1);
  });
});
process.stdin.on("end", () => chain.then(() => process.exit(0)));
