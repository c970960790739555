/**
 * Where webhooks may point: only public addresses, so an account key cannot make the
 * service reach inside the deployment (databases, the Temporal UI, cloud metadata at
 * 169.254.169.254) or use the notifications API as a port scanner.
 *
 * Checked twice. At registration (the API), on the URL as given: an IP literal must be
 * public unicast (ipaddr.js's ranges: no loopback, private, link-local, CGNAT,
 * multicast, IPv6 ULA/link-local, IPv4-mapped private...), and a name must not be
 * `localhost`, end in `.localhost`, `.local` or `.internal`, or be a single label
 * (`postgres`, `temporal`: names a deployment's own resolver answers). Names are not
 * resolved there: what a name resolves to may change. At send time (webhook delivery),
 * on the address actually connected to: request-filtering-agent resolves the name,
 * checks every address and connects to the one it checked, so DNS rebinding gains
 * nothing.
 *
 * `WEBHOOK_ALLOW_PRIVATE=true` (development and tests, with receivers on 127.0.0.1)
 * turns both checks off.
 */
import type { Agent } from 'node:http';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

const INTERNAL_SUFFIXES = ['.localhost', '.local', '.internal', '.localdomain'];

/** Why a webhook URL's host may not be used, or null when it may. */
export function refusedWebhookHost(url: URL, allowPrivate: boolean): string | null {
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (ipaddr.isValid(host)) {
    let addr = ipaddr.parse(host);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    const range = addr.range();
    return range === 'unicast' ? null : `must be a public address (${host} is ${range})`;
  }
  if (host === 'localhost' || INTERNAL_SUFFIXES.some((s) => host.endsWith(s)) || !host.includes('.')) {
    return `must be a public host name (${host} names something inside the deployment)`;
  }
  return null;
}

/** The agents webhook requests go through: they refuse to connect to a non-public address. */
export function webhookAgents(allowPrivate: boolean): { http: Agent; https: Agent } {
  const options = { allowPrivateIPAddress: allowPrivate, allowMetaIPAddress: allowPrivate, keepAlive: false };
  return { http: new RequestFilteringHttpAgent(options), https: new RequestFilteringHttpsAgent(options) };
}

/** Whether a request failed because its target's address was refused (by the agents above). */
export function isRefusedTarget(err: unknown): boolean {
  return err instanceof Error && /^DNS lookup .* is not allowed\./.test(err.message);
}
