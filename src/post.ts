/**
 * The action's post step (`dist/post/index.js`, `post-if: always()`): see src/action/post.ts.
 */
import { runPost } from './action/post.js'

void runPost()
