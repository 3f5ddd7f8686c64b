/** A status chip, coloured by what the name says (succeeded, failed, active, pending...). */
export function statusTone(status: string): string {
  const s = status.toUpperCase();
  if (/FAIL|DECLIN|CANCEL|ARCHIV|REFUS|ERROR|RELEASED/.test(s)) return 'bad';
  if (/SUSPEND|PENDING|CREATED|CONFIRMED|RESERVED|NEW/.test(s)) return 'wait';
  if (/SUCCEED|ACTIVE|ADDED|PAID|SOLD|COMPLETE|AVAILABLE|SUCCESS/.test(s)) return 'good';
  return 'neutral';
}

export function StatusChip({ status, testid }: { status: string; testid?: string }) {
  return <span class={`chip ${statusTone(status)}`} data-testid={testid} title={status}>{status}</span>;
}
