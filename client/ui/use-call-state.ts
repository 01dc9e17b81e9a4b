import { useEffect, useState } from 'preact/hooks';
import type { Call, CallState } from '../call/call.js';

/** Re-renders whenever the call's state changes. */
export function useCallState(call: Call): CallState {
  const [state, setState] = useState(call.state);
  useEffect(() => {
    setState(call.state);
    return call.subscribe(setState);
  }, [call]);
  return state;
}
