/**
 * A loopback TCP relay in front of a real server (slapd) that can hold the traffic: while held,
 * what either side sends is kept, and delivered in order on release. A directory that "takes
 * its time" for as long as a test needs, without touching the server or the client.
 */
import { Socket, createServer } from 'node:net';

export interface Gate {
  /** ldap://127.0.0.1:<port> (for an LDAP target). */
  readonly url: string;
  readonly port: number;
  hold(): void;
  release(): void;
  stop(): Promise<void>;
}

export async function startGate(targetPort: number, scheme = 'ldap'): Promise<Gate> {
  let held = false;
  const waiting: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => {
      if (held) waiting.push(() => to.write(chunk));
      else to.write(chunk);
    });
    from.on('close', () => (held ? waiting.push(() => to.destroy()) : to.destroy()));
    from.on('error', () => {});
  };
  const server = createServer((client) => {
    const target = new Socket();
    sockets.add(client).add(target);
    target.connect(targetPort, '127.0.0.1');
    relay(client, target);
    relay(target, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      for (const send of waiting.splice(0)) send();
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
