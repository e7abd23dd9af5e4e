package main

import (
	"context"
	"os"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
)

// load creates the objects of an objects file in the API server of
// kubeconfig, namespaces first, skipping those that exist. What the API
// server sets itself (UIDs, resource versions, owner references) is dropped.
func load(kubeconfig, path string) {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	check(err)
	rc.QPS, rc.Burst = 5000, 5000
	cs, err := kubernetes.NewForConfig(rc)
	check(err)
	raw, err := os.ReadFile(path)
	check(err)
	list, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw, nil, nil)
	check(err)
	var namespaces, others []func(context.Context) error
	for _, item := range list.(*corev1.List).Items {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(item.Raw, nil, nil)
		check(err)
		m := obj.(metav1.Object)
		m.SetResourceVersion("")
		m.SetUID("")
		m.SetOwnerReferences(nil)
		m.SetCreationTimestamp(metav1.Time{})
		switch o := obj.(type) {
		case *corev1.Namespace:
			namespaces = append(namespaces, func(ctx context.Context) error {
				_, err := cs.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
				return err
			})
		case *corev1.Service:
			others = append(others, func(ctx context.Context) error {
				_, err := cs.CoreV1().Services(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
				if err != nil {
					// The cluster IP is checked before the name: an existing
					// service fails as "already allocated".
					if _, getErr := cs.CoreV1().Services(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); getErr == nil {
						return nil
					}
				}
				return err
			})
		case *discoveryv1.EndpointSlice:
			others = append(others, func(ctx context.Context) error {
				_, err := cs.DiscoveryV1().EndpointSlices(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
				return err
			})
		}
	}
	run(namespaces)
	run(others)
}

// run calls the creations from 32 goroutines.
func run(calls []func(context.Context) error) {
	work := make(chan func(context.Context) error)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for call := range work {
				if err := call(context.Background()); err != nil && !apierrors.IsAlreadyExists(err) {
					check(err)
				}
			}
		})
	}
	for _, c := range calls {
		work <- c
	}
	close(work)
	wg.Wait()
}
