// Every workflow's definition registers its offline skills as it loads: loading the registry
// gives a test that calls a node or the offline model directly the skills a run would have.
import "../../graphs/registry.js";
