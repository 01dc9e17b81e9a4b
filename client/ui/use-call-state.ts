import { useEffect, useState } from 'preact/hooks';
import type { Call } from '../call/call.js';
import type { CallState } from '../call/state.js';

/** Re-renders whenever the call's state changes. */
export function useCallState(call: Call): CallState {
  const [state, setState] = useState(call.state);
  useEffect(() => {
    setState(call.state);
    return call.subscribe(setState);
  }, [call]);
  return state;
}
