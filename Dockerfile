FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# Amiri: the Arabic font voter-roll PDFs are printed in.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-hosny-amiri \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# bin/collectstatic is also what `make run` runs with DEBUG=0 (and what the production
# test runs, read from this line): it writes WhiteNoise's manifest.
RUN bin/collectstatic \
    && useradd --create-home --uid 1000 app \
    && mkdir -p /app/var && chown -R app:app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "project.wsgi"]
