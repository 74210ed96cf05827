/** One line that says what a view is about: notifications, clients without cards, logs. */
import type { View } from './types.ts';

export function summarize(view: View): string {
  switch (view.type) {
    case 'users':
      return `Directory users of ${view.connection}: ${view.summary}`;
    case 'audit':
      return `${view.title}: ${view.summary}`;
    case 'incidents':
      return `Incidents: ${view.summary}`;
    case 'why':
      return view.title;
    case 'help':
      return view.title;
    case 'health':
      return `Sync health: ${view.status} — ${view.summary}`;
    case 'status':
      return `${view.name}: ${view.status}`;
    case 'run':
      return view.headline;
    case 'progress':
      return view.text;
    case 'runs':
      return `Runs of ${view.connection}`;
    case 'conflicts':
      return `${view.total} user${view.total === 1 ? '' : 's'} to resolve in ${view.connection}`;
    case 'duplicates':
      return `${view.total} duplicate group${view.total === 1 ? '' : 's'} in ${view.connection}`;
    case 'approval':
      return view.title;
    case 'alert':
      return view.title;
    case 'message':
      return `${view.title}: ${view.text}`;
  }
}
