import type { OperatorView } from '../../core/auth/operators.js';
import { Layout } from './Layout.js';

/** Props of `ErrorPage`. */
export interface ErrorPageProps {
  status: number;
  title: string;
  message: string;
  /** Shown for unexpected errors, so a report can be matched with the log. */
  requestId?: string | undefined;
  operator?: OperatorView | undefined;
}

/** A friendly full page for an error: what happened, what to do, and a way back. */
export function ErrorPage({ status, title, message, requestId, operator }: ErrorPageProps) {
  return (
    <Layout title={title} operator={operator}>
      <div class="error-page">
        <p class="code">{status}</p>
        <h1>{title}</h1>
        <p class="sub">{message}</p>
        {requestId && (
          <p class="muted">
            Request id <span class="mono">{requestId}</span>
          </p>
        )}
        <p>
          <a href="/tenants">Back to the console</a>
        </p>
      </div>
    </Layout>
  );
}
