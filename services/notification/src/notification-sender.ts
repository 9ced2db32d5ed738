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

export function fakeSender(
  onSend: (n: Notification) => void = () => {},
): NotificationSender & { sent: Notification[] } {
  const sent: Notification[] = [];
  return {
    sent,
    async send(notification) {
      sent.push(notification);
      onSend(notification);
    },
  };
}
