// A workflow's definition registers its offline skills as it loads. Unit tests call nodes and the
// offline model without loading a graph (and mock what those nodes import, which a graph loaded
// here would have imported unmocked first): they get the research workflow's skills directly.
import { registerOfflineSkills } from "../../models/offline/skills.js";
import { PARALLEL_WORKFLOW_SKILLS } from "../../models/parallel_workflow/skills.js";

registerOfflineSkills(PARALLEL_WORKFLOW_SKILLS);
