import { useState } from 'preact/hooks';
import { ApiError, errorMessage, request, type Link, type Resource, type Template } from '../api';
import { ErrorBanner, Notice } from '../components/banner';
import { SchemaForm } from '../components/schema-form';
import { humanize } from '../model';

interface Action {
  name: string;
  template?: Template;
  link?: Link;
}

/** The commands on offer: each `_templates` entry; links without a template only when there is none. */
function actionsOf(commands: Resource | undefined, ownRel: string): Action[] {
  if (!commands) return [];
  if (commands._templates && Object.keys(commands._templates).length) {
    return Object.entries(commands._templates).map(([name, template]) => ({ name, template }));
  }
  return Object.entries(commands._links ?? {})
    .filter(([rel]) => rel !== 'self' && rel !== ownRel)
    .map(([name, l]) => ({ name, link: Array.isArray(l) ? l[0] : l }));
}

const takesInput = (t?: Template): boolean => !!(t && (Object.keys(t.schema?.properties ?? {}).length || t.properties?.length));

/**
 * Buttons and forms for the aggregate's allowed commands, built from the commands resource's
 * HAL-FORMS templates (method, target, input schema): a command without input is a button,
 * one with input opens its form. A refusal (409) says why and leaves everything usable.
 */
export function CommandPanel({ commands, ownRel, onDone, onCreated }: { commands?: Resource; ownRel: string; onDone(): void; onCreated(href: string): void }) {
  const [open, setOpen] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [notice, setNotice] = useState<string>();
  const actions = actionsOf(commands, ownRel);

  const send = async (action: Action, body?: unknown) => {
    setBusy(action.name);
    setError(undefined);
    setNotice(undefined);
    try {
      const target = action.template?.target ?? action.link!.href.replace(/\{[?&][^}]*\}/g, '');
      const r = await request(target, { method: action.template?.method ?? 'POST', body });
      setNotice(`${action.template?.title ?? humanize(action.name)}: accepted`);
      setOpen(undefined);
      const location = r.headers.get('Location');
      if (r.status === 201 && location) onCreated(location);
      onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, errorMessage(err)));
      onDone();
      throw err;
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section class="card" data-testid="commands">
      <header><h2>Commands</h2></header>
      <ErrorBanner error={error} testid="command-error" />
      <Notice text={notice} testid="command-notice" />
      {actions.length === 0 && <div class="empty small" data-testid="no-commands">No command is allowed in this state.</div>}
      <div class="buttons">
        {actions.map((a) => (
          <button key={a.name} class={open === a.name ? 'primary' : 'secondary'} disabled={!!busy} data-testid={`command-${a.name}`}
            onClick={() => (takesInput(a.template) ? setOpen(open === a.name ? undefined : a.name) : send(a).catch(() => undefined))}>
            {busy === a.name ? 'Sending…' : a.template?.title ?? humanize(a.name)}
          </button>
        ))}
      </div>
      {actions.filter((a) => a.name === open && a.template).map((a) => (
        <div class="command-form" key={a.name}>
          <h3>{a.template!.title ?? humanize(a.name)}</h3>
          <SchemaForm schema={a.template!.schema ?? { type: 'object' }} submitLabel={a.template!.title ?? humanize(a.name)} testid={`form-${a.name}`}
            onSubmit={(v) => send(a, v).catch(() => undefined)} onCancel={() => setOpen(undefined)} />
        </div>
      ))}
    </section>
  );
}
