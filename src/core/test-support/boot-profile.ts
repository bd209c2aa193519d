/** Developer tool: profile one real-time boot to the prompt (run with node --cpu-prof). Not a test. */
import '../../../bench/boot-node.ts';
