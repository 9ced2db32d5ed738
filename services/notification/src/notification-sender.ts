/**
 * The notification provider (e-mail, SMS), outside the system. The fake one
 * records what it was asked to send, so tests and the demo can see it.
 */
export interface Notification {
  id: string;
  recipient: string;
  channel: string;
  body: string;
}

export interface NotificationSender {
  send(notification: Notification): Promise<void>;
}

/** The fake keeps the last `keep` notifications only: a long-running service must not grow with it. */
export function fakeSender(
  onSend: (n: Notification) => void = () => {},
  keep = 100,
): NotificationSender & { sent: Notification[] } {
  const sent: Notification[] = [];
  return {
    sent,
    async send(notification) {
      sent.push(notification);
      if (sent.length > keep) sent.shift();
      onSend(notification);
    },
  };
}
