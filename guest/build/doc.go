// Package build builds images from a Dockerfile the way docker's classic
// builder does (DOCKER_BUILDKIT=0): one step at a time, each step committed
// as an image whose parent is the previous step's, a step reused from the
// layer cache when an image with the same parent was made by the same
// instruction, RUN executed in a real container of the engine, COPY and ADD
// from the build context or from another stage. The Dockerfile is parsed
// with buildkit's parser and instructions packages; .dockerignore is read
// with moby's patternmatcher. The engine (containers, image store) is
// reached through the Engine interface, so this package holds only the
// builder's own logic.
package build
