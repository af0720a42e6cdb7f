// Small shared pieces: links that route without a reload, buttons that say why they are disabled,
// error and status boxes.
import type { MouseEvent, ReactNode } from 'react';
import { useId } from 'react';
import { ApiError } from './api.ts';
import { navigate, type Decision } from './hooks.ts';

export function Link(props: { to: string; children: ReactNode; className?: string; current?: boolean }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a
      href={props.to}
      onClick={onClick}
      className={props.className}
      aria-current={props.current ? 'page' : undefined}
    >
      {props.children}
    </a>
  );
}

/**
 * A button the user may or may not be allowed to press: while RBAC says no it is disabled and the
 * reason is shown next to it (and tied to it for screen readers), never an error page.
 */
export function GuardedButton(props: {
  access: Decision;
  onClick: () => void;
  children: ReactNode;
  className?: string;
  busy?: boolean;
}) {
  const id = useId();
  const denied = props.access.allowed === false;
  return (
    <span className="guarded">
      <button
        type="button"
        className={props.className}
        disabled={props.access.allowed !== true || props.busy}
        aria-describedby={denied ? id : undefined}
        onClick={props.onClick}
      >
        {props.children}
      </button>
      {denied && (
        <span id={id} className="denied">
          {props.access.reason}
        </span>
      )}
    </span>
  );
}

export function ErrorBox({ error, what }: { error: unknown; what?: string }) {
  const e = error as Error;
  if (e instanceof ApiError && e.status === 403)
    return (
      <p className="notice forbidden" role="status">
        {what ? `You may not ${what} here.` : 'You may not do this here.'} <small>({e.message})</small>
      </p>
    );
  return (
    <p className="notice error" role="alert">
      {e instanceof ApiError ? `${e.reason} (${e.status}): ` : ''}
      {e?.message ?? String(error)}
    </p>
  );
}

export function StatusBadge({ ok, children }: { ok: boolean | undefined; children: ReactNode }) {
  return <span className={`badge ${ok === true ? 'ok' : ok === false ? 'bad' : 'pending'}`}>{children}</span>;
}
