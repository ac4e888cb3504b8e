/**
 * Sends a webhook to the app's Probot server the way GitHub does: JSON body, `x-github-event`,
 * `x-github-delivery`, and `x-hub-signature-256` = HMAC-SHA256 of the exact body bytes with the
 * app's webhook secret.
 */
import { createHmac, randomUUID } from 'node:crypto';

export interface WebhookDelivery {
  /** Full URL of the webhook endpoint, e.g. `http://127.0.0.1:PORT/api/github/webhooks`. */
  readonly url: string;
  /** Secret to sign with; pass a different one to simulate a forged delivery. */
  readonly secret: string;
  readonly event: string;
  readonly payload: object;
  readonly deliveryId?: string;
}

export interface WebhookResult {
  readonly status: number;
  readonly body: string;
  readonly deliveryId: string;
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export async function sendWebhook(delivery: WebhookDelivery): Promise<WebhookResult> {
  const body = JSON.stringify(delivery.payload);
  const deliveryId = delivery.deliveryId ?? randomUUID();
  const response = await fetch(delivery.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/stand-in',
      'x-github-event': delivery.event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': signature(delivery.secret, body),
    },
    body,
  });
  return { status: response.status, body: await response.text(), deliveryId };
}
