import { raw } from 'hono/html';
import type { PropsWithChildren } from 'hono/jsx';
import type { OperatorView } from '../../core/auth/operators.js';
import { CONSOLE_CSS } from './styles.js';

/** Props of `Layout`. */
export interface LayoutProps {
  /** The page's title; " · Anvil" is appended. */
  title: string;
  /** The signed-in operator; without one the page has no navigation (login, errors). */
  operator?: OperatorView | undefined;
  /** The navigation entry to highlight. */
  section?: 'tenants';
}

/** The console's HTML shell: head with the inline stylesheet, top bar, navigation and sign-out. */
export function Layout({ title, operator, section, children }: PropsWithChildren<LayoutProps>) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="robots" content="noindex" />
          <title>{`${title} · Anvil`}</title>
          <style dangerouslySetInnerHTML={{ __html: CONSOLE_CSS }} />
        </head>
        <body>
          {operator && (
            <header class="top">
              <a class="brand" href="/tenants">
                Anvil
              </a>
              <nav>
                <a href="/tenants" class={section === 'tenants' ? 'here' : undefined}>
                  Tenants
                </a>
              </nav>
              <div class="who">
                <span>
                  {operator.email} <span class="badge neutral">{operator.role}</span>
                </span>
                <form class="inline" method="post" action="/logout">
                  <button class="link" type="submit">
                    Sign out
                  </button>
                </form>
              </div>
            </header>
          )}
          <main>{children}</main>
        </body>
      </html>
    </>
  );
}
