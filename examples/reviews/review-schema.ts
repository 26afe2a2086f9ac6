import { z } from 'zod';

/** What each review is classified into: the structured output every row must conform to. */
export const ReviewClassification = z.object({
  sentiment: z.enum(['positive', 'neutral', 'negative']),
  topic: z.enum(['quality', 'shipping', 'price', 'support', 'usability', 'other']),
  urgency: z.enum(['low', 'medium', 'high']),
  summary: z.string(),
});

/** The classification of one review, as the model returns it. */
export type ReviewClassification = z.infer<typeof ReviewClassification>;

/** The system prompt of the nightly enrichment job. */
export const REVIEW_SYSTEM_PROMPT =
  'You classify product reviews for a support team. Return the sentiment, the main topic, how ' +
  'urgently support should react (high: safety issue, broken on arrival, or an angry repeat ' +
  'customer), and a one-sentence summary.';
