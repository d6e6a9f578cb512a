"""Grounded questions and answers over the archive: passages, hybrid retrieval, cited answers or a refusal."""

from bot.qa.model import Answer, Citation, QAError, RateLimited, render_answer
from bot.qa.service import answer_question

__all__ = ["Answer", "Citation", "QAError", "RateLimited", "answer_question", "render_answer"]
