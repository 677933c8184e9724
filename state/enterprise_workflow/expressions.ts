// CEL lives in state/shared: the engine's expressions and the event triggers' filters share it.
export * from "../shared/expressions.js";
